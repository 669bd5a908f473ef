//! The size budget of a statement, checked on its tokens before anything parses or plans it.
//!
//! Planning walks expression trees recursively: a flat chain of 20,000 `+` (40 KB of SQL) is a
//! tree 20,000 deep, and one such statement overflowed a worker's stack and took the whole
//! server down. Parenthesised nesting is stopped by the parser's recursion limit; flat chains
//! of operators, `UNION`s and `JOIN`s are not. So every statement is counted here first, on
//! the tokenizer's flat list (no recursion), and one over the budget is refused with a clear
//! message. Within the budget planning is safe: DataFusion's recursive walks grow their stack
//! on the heap (`recursive_protection`), and the binary's threads have deep stacks besides.

use datafusion::sql::sqlparser::dialect::Dialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::{Error, Result};

/// What one statement may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Bytes of SQL.
    pub bytes: usize,
    /// Operators (`+ - * / % || = < > …`, `AND`, `OR`, `NOT`, `IS`, `LIKE`, `UNION`, `JOIN` …)
    /// in the whole statement: each can add a level to a tree.
    pub operators: usize,
    /// Parentheses open at once.
    pub depth: usize,
    /// Tokens in all (an `IN` list of 50,000 member ids fits).
    pub tokens: usize,
    /// Calls of the functions that build large values (`bounded.rs`: `repeat`, `lpad` …),
    /// each held to 16 MB a batch.
    pub builders: usize,
}

/// The budget of every session: generous for anything a person or a report writes (the
/// largest report query has under 200 operators), far below what breaks the planner.
pub const BUDGET: Budget = Budget {
    bytes: 1 << 20,
    operators: 1_000,
    depth: 64,
    tokens: 200_000,
    builders: 16,
};

/// What a statement holds, as the budget counts it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub operators: usize,
    pub depth: usize,
    pub tokens: usize,
    pub builders: usize,
}

/// Count a statement's operators, nesting and tokens (no parsing: the tokenizer is a loop),
/// with the session's SQL dialect. A statement that does not tokenize is a bad statement
/// (the parser, which tokenizes the same way, would say the same).
pub fn measure(sql: &str, dialect: &dyn Dialect) -> Result<Size> {
    let tokens = Tokenizer::new(dialect, sql).tokenize().map_err(|e| {
        Error::DataFusion(Box::new(datafusion::error::DataFusionError::Plan(format!(
            "SQL error: {e}"
        ))))
    })?;
    let mut size = Size::default();
    let mut open = 0usize;
    for t in &tokens {
        match t {
            Token::Whitespace(_) | Token::EOF => continue,
            Token::LParen => {
                open += 1;
                size.depth = size.depth.max(open);
            }
            Token::RParen => open = open.saturating_sub(1),
            Token::Word(w) => {
                if w.quote_style.is_none()
                    && crate::bounded::names().any(|n| w.value.eq_ignore_ascii_case(n))
                {
                    size.builders += 1;
                }
                if matches!(
                    w.keyword,
                    Keyword::AND
                        | Keyword::OR
                        | Keyword::XOR
                        | Keyword::NOT
                        | Keyword::IS
                        | Keyword::LIKE
                        | Keyword::ILIKE
                        | Keyword::SIMILAR
                        | Keyword::BETWEEN
                        | Keyword::UNION
                        | Keyword::INTERSECT
                        | Keyword::EXCEPT
                        | Keyword::JOIN
                        | Keyword::WHEN
                ) {
                    size.operators += 1;
                }
            }
            t if is_operand(t) => {}
            _ => size.operators += 1,
        }
        size.tokens += 1;
    }
    Ok(size)
}

/// Tokens that are not operators: literals, names' punctuation, list commas.
fn is_operand(t: &Token) -> bool {
    matches!(
        t,
        Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::Comma
            | Token::Period
            | Token::SemiColon
            | Token::Placeholder(_)
            | Token::DoubleColon
    )
}

/// Refuse a statement over `budget`, naming what is over and by how much.
pub fn check(sql: &str, budget: &Budget, dialect: &dyn Dialect) -> Result<Size> {
    if sql.len() > budget.bytes {
        return Err(too_complex(
            "字节 bytes of SQL",
            sql.len(),
            budget.bytes,
            "send a shorter statement (a long list of values belongs in a table)",
        ));
    }
    let size = measure(sql, dialect)?;
    if size.tokens > budget.tokens {
        return Err(too_complex(
            "词元 tokens",
            size.tokens,
            budget.tokens,
            "split the statement",
        ));
    }
    if size.operators > budget.operators {
        return Err(too_complex(
            "运算符 operators (+ - * / || = AND OR UNION JOIN …)",
            size.operators,
            budget.operators,
            "split the expression, or use IN (…) / a CASE for long lists of conditions",
        ));
    }
    if size.builders > budget.builders {
        return Err(too_complex(
            "次调用 calls of repeat, lpad, rpad, array_repeat, range, generate_series",
            size.builders,
            budget.builders,
            "build large values in fewer steps",
        ));
    }
    if size.depth > budget.depth {
        return Err(too_complex(
            "括号嵌套 nested parentheses",
            size.depth,
            budget.depth,
            "nest less deeply",
        ));
    }
    Ok(size)
}

fn too_complex(what: &str, found: usize, max: usize, hint: &str) -> Error {
    Error::TooComplex(format!(
        "语句过于复杂 the statement is too complex: {found} {what}, at most {max} are allowed; {hint}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::GenericDialect;

    fn measure(sql: &str) -> Result<Size> {
        super::measure(sql, &GenericDialect {})
    }

    fn check(sql: &str, budget: &Budget) -> Result<Size> {
        super::check(sql, budget, &GenericDialect {})
    }

    #[test]
    fn counts_operators_nesting_and_tokens() {
        let s = measure("select a + 1, b || 'x' from t where c = 1 and not d like 'y%'").unwrap();
        assert_eq!(s.operators, 6, "+ || = and not like");
        assert_eq!(s.depth, 0);
        let s = measure("select count(*) from (select 1)").unwrap();
        assert_eq!((s.operators, s.depth), (1, 1), "the * of count(*)");
        // Literals never count, however many: an IN list of member ids is fine.
        let ids: Vec<String> = (0..5000).map(|i| format!("'M{i:07}'")).collect();
        let s = measure(&format!("select 1 where id in ({})", ids.join(","))).unwrap();
        assert_eq!(s.operators, 0);
        assert!(
            check(
                &format!("select 1 where id in ({})", ids.join(",")),
                &BUDGET
            )
            .is_ok()
        );
    }

    #[test]
    fn refuses_chains_past_the_budget_and_keeps_those_within() {
        let chain = |n: usize, op: &str| format!("select 1{}", format!(" {op} 1").repeat(n));
        for op in ["+", "and", "or", "||", "*"] {
            assert!(check(&chain(BUDGET.operators, op), &BUDGET).is_ok(), "{op}");
            let e = check(&chain(BUDGET.operators + 1, op), &BUDGET).unwrap_err();
            assert!(
                matches!(&e, Error::TooComplex(m) if m.contains("1001")),
                "{op}: {e}"
            );
        }
        let union = format!("select 1{}", " union all select 1".repeat(2000));
        assert!(check(&union, &BUDGET).is_err());
        let nested = format!("select {}1{}", "(".repeat(65), ")".repeat(65));
        assert!(check(&nested, &BUDGET).is_err());
        let builders = format!("select {}", vec!["repeat('x', 2)"; 17].join(" || "));
        assert!(check(&builders, &BUDGET).is_err());
        let big = format!("select '{}'", "x".repeat(2 << 20));
        assert!(check(&big, &BUDGET).is_err());
        // An unterminated string is a bad statement, not a panic.
        assert!(matches!(
            check("select 'abc", &BUDGET),
            Err(Error::DataFusion(_))
        ));
    }
}
