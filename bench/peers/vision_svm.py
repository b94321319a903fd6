"""Peer for vision: an RBF SVM (scikit-learn SVC) on the raw pixels scaled to [0, 1], timed as a whole job.

Usage: vision_svm.py <train.csv> <test.csv>   (optdigits layout: 64 pixel columns 0-16, then the label)

C is picked by 5-fold cross-validation on the training rows only, as a careful user would; gamma is
sklearn's 'scale'. Reading the CSV is not timed (Trinity's bench hands its trainer parsed rows too).
"""
import json, sys, time
import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC


def read(path):
    data = np.loadtxt(path, delimiter=',', skiprows=1)
    return data[:, :-1], data[:, -1].astype(int)


xtr, ytr = read(sys.argv[1])
xte, yte = read(sys.argv[2])
t0 = time.perf_counter()
scale = xtr.max()
search = GridSearchCV(SVC(kernel='rbf', gamma='scale'), {'C': [1, 10, 100]}, cv=5, n_jobs=1)
search.fit(xtr / scale, ytr)
fit = time.perf_counter() - t0
acc = float((search.predict(xte / scale) == yte).mean())
print(json.dumps({"accuracy": acc, "fit_seconds": fit, "samples_per_second": len(ytr) / fit, "C": search.best_params_['C'], "train": len(ytr), "test": len(yte)}))
