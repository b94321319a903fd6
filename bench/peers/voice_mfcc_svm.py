"""Peer for voice: MFCC-13 mean+std per clip with an RBF SVM (scikit-learn), timed as a whole job.

Usage: voice_mfcc_svm.py <recordings dir> <list.csv with file,speaker,part (train|test)>

The MFCCs are the textbook front end (python_speech_features' recipe; Debian packages neither it nor
librosa): pre-emphasis 0.97, 25 ms Hamming frames every 10 ms, |FFT|^2, 26 triangular mel filters,
log, orthonormal DCT-II, 13 cepstra. A clip is the mean and standard deviation of its frames (26 numbers).
C of the SVM is picked by 5-fold cross-validation on the training rows only, as a careful user would.
"""
import csv, json, sys, time, wave
import numpy as np
from scipy.fft import dct, rfft
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

N_MELS, N_MFCC, PREEMPH = 26, 13, 0.97


def read_wav(path):
    with wave.open(path, 'rb') as w:
        rate, n = w.getframerate(), w.getnframes()
        x = np.frombuffer(w.readframes(n), dtype='<i2').astype(np.float64) / 32768.0
    return x, rate


def mel_filters(rate, nfft):
    mel = lambda hz: 2595.0 * np.log10(1.0 + hz / 700.0)
    hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    edges = hz(np.linspace(mel(0.0), mel(rate / 2.0), N_MELS + 2))
    bins = np.floor((nfft + 1) * edges / rate).astype(int)
    fb = np.zeros((N_MELS, nfft // 2 + 1))
    for m in range(1, N_MELS + 1):
        lo, mid, hi = bins[m - 1], bins[m], bins[m + 1]
        fb[m - 1, lo:mid] = (np.arange(lo, mid) - lo) / max(mid - lo, 1)
        fb[m - 1, mid:hi] = (hi - np.arange(mid, hi)) / max(hi - mid, 1)
    return fb


_plans = {}


def mfcc_stats(x, rate):
    if rate not in _plans:
        flen, hop = int(round(0.025 * rate)), int(round(0.010 * rate))
        nfft = 1 << (flen - 1).bit_length()
        _plans[rate] = (flen, hop, nfft, np.hamming(flen), mel_filters(rate, nfft))
    flen, hop, nfft, window, fb = _plans[rate]
    x = np.append(x[0], x[1:] - PREEMPH * x[:-1])
    frames = 1 + max(0, int(np.ceil((len(x) - flen) / hop)))
    x = np.pad(x, (0, (frames - 1) * hop + flen - len(x)))
    idx = np.arange(flen)[None, :] + hop * np.arange(frames)[:, None]
    power = np.abs(rfft(x[idx] * window, nfft)) ** 2 / nfft
    logmel = np.log(np.maximum(power @ fb.T, 1e-10))
    cep = dct(logmel, type=2, axis=1, norm='ortho')[:, :N_MFCC]
    return np.concatenate([cep.mean(axis=0), cep.std(axis=0)])


root, listing = sys.argv[1], sys.argv[2]
with open(listing, newline='') as f:
    rows = list(csv.DictReader(f))
featurise = lambda part: np.array([mfcc_stats(*read_wav(f'{root}/{r["file"]}')) for r in rows if r['part'] == part])
speakers = lambda part: np.array([r['speaker'] for r in rows if r['part'] == part])
# The job is reading and featurising the training clips, then fitting; the held-out clips are featurised untimed.
t0 = time.perf_counter()
x_train = featurise('train')
t1 = time.perf_counter()
search = GridSearchCV(make_pipeline(StandardScaler(), SVC(kernel='rbf', gamma='scale')), {'svc__C': [1, 10, 100]}, cv=5, n_jobs=1)
search.fit(x_train, speakers('train'))
t2 = time.perf_counter()
acc = float((search.predict(featurise('test')) == speakers('test')).mean())
print(json.dumps({
    "accuracy": acc,
    "feature_seconds": t1 - t0,
    "fit_seconds": t2 - t1,
    "job_seconds": t2 - t0,
    "samples_per_second": len(x_train) / (t2 - t0),
    "C": search.best_params_['svc__C'],
    "train": len(x_train),
    "test": len(speakers('test')),
}))
