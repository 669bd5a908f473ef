//! Checking the analyzer on labelled texts (`dangan text eval`): balanced accuracy, per-class
//! precision/recall/F1, the confusion table, the share scored neutral and the worst-scored
//! examples, for three labels — positive, negative and, where a set has it, neutral.
//!
//! Balanced accuracy is taken on the positive and negative items only: the mean of their two
//! recalls, a text scored inside the neutral band counted wrong (a report would not count it
//! on its side). `sign_balanced_accuracy` decides by the score's sign alone (0 wrong), the
//! rule of the baselines in `shared/eval/`.

use super::{NEGATIVE, POSITIVE};

/// A label of a labelled text, and a verdict of the analyzer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Label {
    Positive,
    Negative,
    Neutral,
}

impl Label {
    pub const ALL: [Label; 3] = [Label::Positive, Label::Negative, Label::Neutral];

    /// `positive`/`negative`/`neutral` (any case, also `pos`/`neg`/`neu`), 正面/负面/中性,
    /// 积极/消极, 好评/差评/中评, `1`/`0`.
    pub fn parse(s: &str) -> Option<Label> {
        let t = crate::normalize_for_search(s.trim());
        Some(match t.as_str() {
            "positive" | "pos" | "正面" | "正向" | "积极" | "好评" | "正" | "1" | "+1" => {
                Label::Positive
            }
            "negative" | "neg" | "负面" | "负向" | "消极" | "差评" | "负" | "0" | "-1" => {
                Label::Negative
            }
            "neutral" | "neu" | "中性" | "中立" | "中评" | "中" => Label::Neutral,
            _ => return None,
        })
    }

    /// The verdict of a score: inside the band ([`NEGATIVE`] … [`POSITIVE`]) is neutral.
    pub fn of_score(score: f64) -> Label {
        if score < NEGATIVE {
            Label::Negative
        } else if score > POSITIVE {
            Label::Positive
        } else {
            Label::Neutral
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Label::Positive => "positive",
            Label::Negative => "negative",
            Label::Neutral => "neutral",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            Label::Positive => "正面",
            Label::Negative => "负面",
            Label::Neutral => "中性",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Precision, recall and F1 of one class (0 where undefined), and how many items have it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

/// One scored item.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    pub label: Label,
    pub score: f64,
    pub text: String,
}

/// How the analyzer did on a labelled set.
#[derive(Clone, Debug, Default)]
pub struct Evaluation {
    pub n: usize,
    /// `confusion[label][verdict]`, in [`Label::ALL`] order.
    pub confusion: [[usize; 3]; 3],
    /// Positive vs negative: the mean of the two recalls, neutral verdicts wrong.
    pub balanced_accuracy: f64,
    /// The same with the score's sign alone deciding (exactly 0 wrong).
    pub sign_balanced_accuracy: f64,
    /// Per class, in [`Label::ALL`] order (neutral's is all 0 when no item is neutral).
    pub classes: [ClassScores; 3],
    /// Share of all items scored neutral.
    pub neutral_share: f64,
    /// Share of the positive and negative items scored neutral.
    pub undecided_share: f64,
    /// The items labelled positive or negative that were scored furthest on the wrong side,
    /// most wrong first.
    pub worst: Vec<Scored>,
}

impl Evaluation {
    pub fn count(&self, label: Label) -> usize {
        self.confusion[label.index()].iter().sum()
    }

    /// The recall of neutral items, where the set has any.
    pub fn neutral_recall(&self) -> Option<f64> {
        (self.count(Label::Neutral) > 0).then(|| self.classes[Label::Neutral.index()].recall)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Score every item with `score` and measure; `worst` keeps that many examples.
pub fn evaluate_labelled<T: AsRef<str>>(
    items: &[(Label, T)],
    score: impl Fn(&str) -> f64,
    worst: usize,
) -> Evaluation {
    let scored: Vec<Scored> = items
        .iter()
        .map(|(label, text)| Scored {
            label: *label,
            score: score(text.as_ref()),
            text: text.as_ref().to_string(),
        })
        .collect();
    measure(scored, worst)
}

/// Measure items already scored.
pub fn measure(mut scored: Vec<Scored>, worst: usize) -> Evaluation {
    let mut confusion = [[0usize; 3]; 3];
    let mut sign_right = [0usize; 2];
    for s in &scored {
        confusion[s.label.index()][Label::of_score(s.score).index()] += 1;
        match s.label {
            Label::Positive if s.score > 0.0 => sign_right[0] += 1,
            Label::Negative if s.score < 0.0 => sign_right[1] += 1,
            _ => {}
        }
    }
    let mut classes = [ClassScores::default(); 3];
    for l in Label::ALL {
        let i = l.index();
        let tp = confusion[i][i];
        let support = confusion[i].iter().sum::<usize>();
        let predicted = (0..3).map(|k| confusion[k][i]).sum::<usize>();
        let (precision, recall) = (ratio(tp, predicted), ratio(tp, support));
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        classes[i] = ClassScores {
            precision,
            recall,
            f1,
            support,
        };
    }
    let (pos, neg) = (Label::Positive.index(), Label::Negative.index());
    let polar = classes[pos].support + classes[neg].support;
    let mean_of = |a: f64, b: f64| {
        // A set with one side only: that side's recall.
        match (classes[pos].support > 0, classes[neg].support > 0) {
            (true, true) => (a + b) / 2.0,
            (true, false) => a,
            (false, true) => b,
            (false, false) => 0.0,
        }
    };
    let balanced_accuracy = mean_of(classes[pos].recall, classes[neg].recall);
    let sign_balanced_accuracy = mean_of(
        ratio(sign_right[0], classes[pos].support),
        ratio(sign_right[1], classes[neg].support),
    );
    let undecided = confusion[pos][Label::Neutral.index()] + confusion[neg][Label::Neutral.index()];
    let neutral_verdicts = (0..3).map(|k| confusion[k][Label::Neutral.index()]).sum();
    // Most wrong first: a positive item's score, a negative item's score turned around.
    let wrongness = |s: &Scored| match s.label {
        Label::Positive => -s.score,
        Label::Negative => s.score,
        Label::Neutral => f64::NEG_INFINITY,
    };
    scored.retain(|s| s.label != Label::Neutral && Label::of_score(s.score) != s.label);
    scored.sort_by(|a, b| wrongness(b).total_cmp(&wrongness(a)));
    scored.truncate(worst);
    let n = confusion.iter().flatten().sum();
    Evaluation {
        n,
        confusion,
        balanced_accuracy,
        sign_balanced_accuracy,
        classes,
        neutral_share: ratio(neutral_verdicts, n),
        undecided_share: ratio(undecided, polar),
        worst: scored,
    }
}

/// A labelled text file's lines (`label<TAB>text`, the first line the header
/// `label<TAB>text`): the items, or the 1-based line and what was wrong with it.
pub fn parse_tsv(text: &str) -> Result<Vec<(Label, &str)>, (usize, String)> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim_start_matches('\u{feff}').trim() == "label\ttext" => {}
        Some((_, h)) => {
            return Err((
                1,
                format!("the header is `{h}`: expected `label<TAB>text` 表头应为 label<TAB>text"),
            ));
        }
        None => return Err((1, "the file is empty 文件为空".into())),
    }
    let mut items = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let Some((label, t)) = line.split_once('\t') else {
            return Err((
                i + 1,
                "no tab between label and text 标签与文本之间缺少制表符".into(),
            ));
        };
        let Some(label) = Label::parse(label) else {
            return Err((i + 1, unknown_label(label)));
        };
        if !t.trim().is_empty() {
            items.push((label, t));
        }
    }
    Ok(items)
}

/// What a label that is not one says.
pub fn unknown_label(label: &str) -> String {
    format!(
        "label `{label}`: expected positive, negative or neutral (正面/负面/中性) 无法识别的标签"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_in_english_and_chinese() {
        assert_eq!(Label::parse(" Positive "), Some(Label::Positive));
        assert_eq!(Label::parse("负面"), Some(Label::Negative));
        assert_eq!(Label::parse("中性"), Some(Label::Neutral));
        assert_eq!(Label::parse("ＮＥＧ"), Some(Label::Negative));
        assert_eq!(Label::parse("maybe"), None);
        assert_eq!(Label::of_score(0.05), Label::Neutral);
        assert_eq!(Label::of_score(-0.5), Label::Negative);
    }

    #[test]
    fn measures_by_hand() {
        // 3 positive: right, neutral, wrong; 2 negative: right, right; 1 neutral: right.
        let scored = [
            (Label::Positive, 0.8),
            (Label::Positive, 0.0),
            (Label::Positive, -0.9),
            (Label::Negative, -0.5),
            (Label::Negative, -0.2),
            (Label::Neutral, 0.01),
        ]
        .iter()
        .enumerate()
        .map(|(i, (l, s))| Scored {
            label: *l,
            score: *s,
            text: format!("t{i}"),
        })
        .collect();
        let e = measure(scored, 5);
        assert_eq!(e.n, 6);
        assert_eq!(e.confusion[0], [1, 1, 1]);
        assert_eq!(e.confusion[1], [0, 2, 0]);
        assert!((e.balanced_accuracy - (1.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12);
        // By sign the 0.0 is still wrong.
        assert!((e.sign_balanced_accuracy - e.balanced_accuracy).abs() < 1e-12);
        assert!((e.classes[0].precision - 1.0).abs() < 1e-12);
        assert!((e.classes[1].precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((e.classes[2].recall - 1.0).abs() < 1e-12);
        assert_eq!(e.neutral_recall(), Some(1.0));
        assert!((e.neutral_share - 2.0 / 6.0).abs() < 1e-12);
        assert!((e.undecided_share - 1.0 / 5.0).abs() < 1e-12);
        // Most wrong first: the positive scored -0.9, then the one scored 0.
        let worst: Vec<&str> = e.worst.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(worst, ["t2", "t1"]);
    }

    #[test]
    fn tsv_with_its_header_and_clear_errors() {
        let items = parse_tsv("label\ttext\npositive\t很好\n\n负面\t太差了\n").unwrap();
        assert_eq!(
            items,
            [(Label::Positive, "很好"), (Label::Negative, "太差了")]
        );
        assert_eq!(parse_tsv("text\tlabel\n").unwrap_err().0, 1);
        let (line, why) = parse_tsv("label\ttext\npositive\tok\nbad\tx\n").unwrap_err();
        assert_eq!(line, 3);
        assert!(why.contains("`bad`"), "{why}");
    }
}
