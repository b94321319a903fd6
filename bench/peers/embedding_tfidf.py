"""Peer for embedding: cosine of character 2-4-gram TF-IDF vectors (scikit-learn), the classic STS baseline.

Usage: embedding_tfidf.py <pairs_train.csv> <pairs_dev.csv>   (columns sentence1, sentence2, score)

"Training" is fitting the vectoriser's vocabulary and IDF on the training sentences; quality is Spearman's
correlation of the dev pairs' cosines with their scores.
"""
import csv, json, sys, time
import numpy as np
from scipy.stats import spearmanr
from sklearn.feature_extraction.text import TfidfVectorizer


def read(path):
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    return [r['sentence1'] for r in rows], [r['sentence2'] for r in rows], np.array([float(r['score']) for r in rows])


a_tr, b_tr, _ = read(sys.argv[1])
a_dev, b_dev, s_dev = read(sys.argv[2])
t0 = time.perf_counter()
vec = TfidfVectorizer(analyzer='char_wb', ngram_range=(2, 4), sublinear_tf=True).fit(a_tr + b_tr)
fit = time.perf_counter() - t0
# Rows are L2-normalised by the vectoriser, so the row-wise dot product is the cosine.
cos = np.asarray(vec.transform(a_dev).multiply(vec.transform(b_dev)).sum(axis=1)).ravel()
rho = float(spearmanr(cos, s_dev).correlation)
print(json.dumps({"spearman": rho, "fit_seconds": fit, "samples_per_second": len(a_tr) / fit, "train": len(a_tr), "dev": len(a_dev)}))
