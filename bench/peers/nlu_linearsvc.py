"""Peer for nlu: TF-IDF word 1-2 + char 2-5 n-grams with LinearSVC (scikit-learn), timed the same way."""
import csv, json, sys, time
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_union
from sklearn.svm import LinearSVC

def read(path):
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    return [r['text'] for r in rows], [r['intent'] for r in rows]

xtr, ytr = read(sys.argv[1])
xte, yte = read(sys.argv[2])
t0 = time.perf_counter()
vec = make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                 TfidfVectorizer(analyzer='char_wb', ngram_range=(2, 5), sublinear_tf=True))
X = vec.fit_transform(xtr)
clf = LinearSVC(C=1.0).fit(X, ytr)
fit = time.perf_counter() - t0
acc = float((clf.predict(vec.transform(xte)) == yte).mean())
print(json.dumps({"accuracy": acc, "fit_seconds": fit, "samples_per_second": len(xtr) / fit}))
