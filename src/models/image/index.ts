/** Image decoding and resizing for the vision model: the public surface of src/models/image. */
export { decodeBase64, decodeImage, decodeImageBytes, imageHeader, MAX_IMAGE_PIXELS, type DecodedImage } from './decode.js';
export { resizeImage } from './resize.js';
