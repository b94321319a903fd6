// The nlu prediction the HTTP peers answer with: prime's exact shape and size (an answer from a SNIPS model).
export const MODEL_VERSION = 'v1.0.0';
export const PREDICTION_ID = '14a15b56-89f2-42e1-b6ce-099c1cb8c3e8';
export const FIXED_PREDICTION = {
  intent: 'PlayMusic',
  confidence: 0.999301885015739,
  in_scope: true,
  top_k: [
    { intent: 'PlayMusic', score: 0.999301885015739 },
    { intent: 'SearchCreativeWork', score: 0.0005250956995968323 },
    { intent: 'AddToPlaylist', score: 0.00012904835661154305 },
    { intent: 'BookRestaurant', score: 0.000013657520794819686 },
    { intent: 'SearchScreeningEvent', score: 0.000011665094623570195 },
  ],
};
