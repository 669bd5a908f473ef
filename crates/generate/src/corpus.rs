//! Natural-sounding Chinese free text for feedback, thought reports, talks, minutes, appraisal
//! comments and survey answers, composed from clause pools with a known sentiment.

use rand::Rng;
use rand::seq::IndexedRandom;

use super::Gen;

/// The tone of a generated text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Positive,
    Neutral,
    Negative,
}

pub fn tone(g: &mut Gen, positive: f64, negative: f64) -> Tone {
    let x: f64 = g.rng.random();
    if x < positive {
        Tone::Positive
    } else if x < positive + negative {
        Tone::Negative
    } else {
        Tone::Neutral
    }
}

const TOPICS: &[&str] = &[
    "三会一课",
    "主题党日活动",
    "党史学习教育",
    "志愿服务",
    "学习强国",
    "组织生活会",
    "党费收缴",
    "社区网格化管理",
    "老党员走访慰问",
    "线上学习平台",
    "支部微信群",
    "党员积分管理",
    "理论学习",
    "民主评议",
    "入党积极分子培养",
    "疫情防控志愿服务",
    "垃圾分类宣传",
    "为民办实事",
    "乡村振兴",
    "两学一做",
    "不忘初心、牢记使命主题教育",
    "党建引领基层治理",
    "结对帮扶",
];

const POSITIVE: &[&str] = &[
    "{t}组织得很扎实，大家参与热情很高",
    "通过{t}，我对党的理论有了更深的理解",
    "支部在{t}方面做得非常好，值得表扬",
    "{t}内容丰富、形式新颖，收获很大",
    "感谢支部书记在{t}中的耐心指导",
    "{t}切实解决了群众的实际困难，群众满意度明显提高",
    "老党员们对{t}评价很高，觉得很温暖",
    "{t}安排合理，时间把握得好，效果明显",
    "{t}让我深受教育，进一步坚定了理想信念",
    "这次{t}特别有意义，希望以后多组织",
];

const NEGATIVE: &[&str] = &[
    "{t}流于形式，内容空洞，大家兴趣不高",
    "{t}通知太晚，很多党员来不及参加",
    "线上平台经常卡顿，{t}的视频打不开，很不方便",
    "{t}时间安排不合理，与工作冲突，意见较大",
    "年纪大的党员不会用手机，{t}基本参加不了，感到很无奈",
    "{t}存在走过场的问题，没有解决实际问题",
    "对{t}的反馈迟迟没有回复，群众很失望",
    "{t}材料要求太多，负担重，基层疲于应付",
    "{t}的积分规则不透明，大家有抱怨",
    "{t}好几个月没有开展了，支部工作有些松懈",
];

const NEUTRAL: &[&str] = &[
    "按照上级要求开展了{t}",
    "本季度{t}已按计划完成，相关材料已归档",
    "{t}共有{n}名党员参加",
    "就{t}的安排进行了讨论",
    "{t}的具体时间另行通知",
    "请支部按要求报送{t}的相关材料",
    "关于{t}的咨询：具体流程是什么",
    "{t}由组织委员负责记录",
];

const SUGGESTIONS: &[&str] = &[
    "建议增加线下学习的次数，方便老同志参加",
    "希望学习平台能简化登录流程，字体再大一些",
    "建议把{t}和业务工作结合起来",
    "希望支部多听取普通党员的意见",
    "建议定期公开党费使用情况",
    "希望为行动不便的老党员提供送学上门服务",
    "建议{t}提前一周通知",
];

const OPENERS: &[&str] = &[
    "",
    "",
    "",
    "总的来说，",
    "我认为",
    "近期",
    "说实话，",
    "从我个人来看，",
];

fn fill(g: &mut Gen, tpl: &str) -> String {
    let t = TOPICS.choose(&mut g.rng).copied().unwrap_or("三会一课");
    let n = g.rng.random_range(8..60);
    tpl.replace("{t}", t).replace("{n}", &n.to_string())
}

/// One or more sentences in the given tone.
pub fn sentence(g: &mut Gen, tone: Tone) -> String {
    let pool = match tone {
        Tone::Positive => POSITIVE,
        Tone::Negative => NEGATIVE,
        Tone::Neutral => NEUTRAL,
    };
    let clauses = g.rng.random_range(1..=3);
    let mut out = String::new();
    out.push_str(OPENERS.choose(&mut g.rng).copied().unwrap_or(""));
    for i in 0..clauses {
        let tpl = pool.choose(&mut g.rng).copied().unwrap_or("");
        out.push_str(&fill(g, tpl));
        out.push(if i + 1 == clauses { '。' } else { '，' });
    }
    if g.rng.random_bool(0.3) {
        let tpl = SUGGESTIONS.choose(&mut g.rng).copied().unwrap_or("");
        out.push_str(&fill(g, tpl));
        out.push('。');
    }
    out
}

/// A thought report (思想汇报) of a member or candidate.
pub fn thought_report(g: &mut Gen, tone: Tone) -> String {
    let intro = ["敬爱的党组织：", "尊敬的党组织：", ""]
        .choose(&mut g.rng)
        .copied()
        .unwrap_or("");
    let body = match tone {
        Tone::Positive => "这段时间我认真学习了党的创新理论，思想上有了新的提高。",
        Tone::Negative => "这段时间我在思想上有些松懈，工作压力较大，学习不够深入，对此深感不足。",
        Tone::Neutral => "现将近期的思想、学习和工作情况汇报如下。",
    };
    format!(
        "{intro}{body}{}今后我将继续努力，请党组织考验。",
        sentence(g, tone)
    )
}

/// Minutes of a meeting about `topic`.
pub fn minutes(g: &mut Gen, topic: &str, attendees: u32) -> String {
    let t = tone(g, 0.5, 0.15);
    format!(
        "会议由支部书记主持，应到{}人，实到{}人。会议围绕“{topic}”进行了学习和讨论。{}会议要求全体党员抓好落实。",
        attendees + g.rng.random_range(0..5),
        attendees,
        sentence(g, t)
    )
}

/// An appraisal comment fitting a grade.
pub fn appraisal_comment(g: &mut Gen, grade: &str) -> String {
    let pool: &[&str] = match grade {
        "优秀" => &[
            "政治立场坚定，工作积极主动，在志愿服务中发挥了先锋模范作用",
            "理论学习扎实，群众评价高，起到了很好的带头作用",
            "工作认真负责，乐于助人，多次受到群众表扬",
        ],
        "合格" => &[
            "能够按时参加组织生活，完成支部交办的任务",
            "遵守党的纪律，按时交纳党费，工作表现良好",
            "学习比较认真，能够履行党员义务",
        ],
        "基本合格" => &[
            "参加组织生活不够经常，学习不够主动，需要加强",
            "工作中存在畏难情绪，与群众联系不够紧密",
        ],
        _ => &[
            "长期不参加组织生活，不按时交纳党费，经教育仍无明显改进",
            "理想信念淡化，群众意见较大",
        ],
    };
    pool.choose(&mut g.rng).copied().unwrap_or("").to_string()
}

pub fn topic(g: &mut Gen) -> &'static str {
    TOPICS.choose(&mut g.rng).copied().unwrap_or("三会一课")
}
