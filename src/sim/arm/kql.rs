//! The KQL subset the simulated Resource Graph understands: lexer, AST and parser.
//!
//! ```text
//! query    := table ( '|' operator )*             table: resources | authorizationresources (any case)
//! operator := where expr
//!           | extend name = expr (, name = expr)*
//!           | project (name = expr | expr) (, …)*  a bare path `a.b` is named `a_b`
//!           | (order | sort) by expr [asc|desc] (, …)*      default desc, as in KQL
//!           | (limit | take) N
//! expr     := expr or expr | expr and expr | not(expr) | ( expr )
//!           | term (== | =~ | != | !~ | contains | !contains | startswith | endswith | has) term
//!           | term (in | in~ | !in | !in~) ( literal, … )
//!           | term
//! term     := 'string' | "string" | @'verbatim' | number | true | false
//!           | path                                  column(.field | ['key'] | [index])*
//!           | tostring(e) | tolower(e) | toupper(e) | isnotempty(e) | isempty(e) | isnull(e) | isnotnull(e)
//! ```
//!
//! `==`, `!=`, `in` compare case-sensitively; `=~`, `!~`, `in~`, `contains`, `startswith`, `endswith`
//! and `has` (treated as `contains`) ignore case. Anything else (`summarize`, `join`, `mv-expand`, other
//! functions, arithmetic) is rejected with a message naming it.

use super::kql_lex::{Tok, lex, show};

/// A parse error: what is not supported, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KqlError(pub String);

/// The table a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `resources`: clusters, identities, registries.
    Resources,
    /// `authorizationresources`: role assignments.
    AuthorizationResources,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The source table.
    pub table: Table,
    /// The pipeline, in order.
    pub ops: Vec<Op>,
}

/// One tabular operator.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Keep rows where the predicate is true.
    Where(Expr),
    /// Add columns.
    Extend(Vec<(String, Expr)>),
    /// Keep only these columns.
    Project(Vec<(String, Expr)>),
    /// Sort by keys (`true` = descending).
    OrderBy(Vec<(Expr, bool)>),
    /// Keep the first N rows.
    Limit(usize),
}

/// One path step after the column.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `.name` or `['name']`.
    Key(String),
    /// `[n]`.
    Index(usize),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    EqCi,
    Ne,
    NeCi,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
}

/// Scalar functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    ToString,
    ToLower,
    ToUpper,
    IsNotEmpty,
    IsEmpty,
    IsNull,
    IsNotNull,
}

/// A scalar expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal.
    Lit(serde_json::Value),
    /// A column and the steps into its dynamic value.
    Path(String, Vec<Step>),
    /// A function call.
    Call(Func, Box<Expr>),
    /// A comparison.
    Cmp(Box<Expr>, CmpOp, Box<Expr>),
    /// Membership: value, list, case-insensitive, negated.
    In(Box<Expr>, Vec<Expr>, bool, bool),
    /// Conjunction.
    And(Box<Expr>, Box<Expr>),
    /// Disjunction.
    Or(Box<Expr>, Box<Expr>),
    /// Negation.
    Not(Box<Expr>),
}

/// Parses a query of the supported subset.
pub fn parse(src: &str) -> Result<Query, KqlError> {
    let mut p = Parser { toks: lex(src)?, pos: 0, auto: 0 };
    let table = match p.next() {
        Some(Tok::Ident(t)) if t.eq_ignore_ascii_case("resources") => Table::Resources,
        Some(Tok::Ident(t)) if t.eq_ignore_ascii_case("authorizationresources") => Table::AuthorizationResources,
        other => {
            return Err(KqlError(format!(
                "unsupported table {}; the simulator has 'resources' and 'authorizationresources'",
                show(other.as_ref())
            )));
        }
    };
    let mut ops = Vec::new();
    while p.peek().is_some() {
        p.expect_sym("|")?;
        ops.push(p.operator()?);
    }
    Ok(Query { table, ops })
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    auto: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(word))
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        let hit = matches!(self.peek(), Some(Tok::Sym(s)) if *s == sym);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect_sym(&mut self, sym: &str) -> Result<(), KqlError> {
        if self.eat_sym(sym) {
            return Ok(());
        }
        Err(KqlError(format!("expected '{sym}' but found {}", show(self.peek()))))
    }

    fn ident(&mut self) -> Result<String, KqlError> {
        match self.next() {
            Some(Tok::Ident(s)) => Ok(s),
            other => Err(KqlError(format!("expected a name but found {}", show(other.as_ref())))),
        }
    }

    fn operator(&mut self) -> Result<Op, KqlError> {
        let word = self.ident()?.to_ascii_lowercase();
        match word.as_str() {
            "where" => Ok(Op::Where(self.expr()?)),
            "extend" => Ok(Op::Extend(self.assignments(false)?)),
            "project" => Ok(Op::Project(self.assignments(true)?)),
            "order" | "sort" => {
                if !self.ident()?.eq_ignore_ascii_case("by") {
                    return Err(KqlError(format!("expected '{word} by'")));
                }
                let mut keys = Vec::new();
                loop {
                    let e = self.expr()?;
                    let desc =
                        if self.peek_word("asc") || self.peek_word("desc") { self.ident()?.eq_ignore_ascii_case("desc") } else { true };
                    keys.push((e, desc));
                    if !self.eat_sym(",") {
                        return Ok(Op::OrderBy(keys));
                    }
                }
            }
            "limit" | "take" => match self.next() {
                Some(Tok::Num(n)) if n >= 0.0 && n.fract() == 0.0 => Ok(Op::Limit(n as usize)),
                other => Err(KqlError(format!("'{word}' needs a whole number, found {}", show(other.as_ref())))),
            },
            other => Err(KqlError(format!(
                "unsupported KQL operator '{other}'; the simulator supports where, extend, project, order by, sort by, limit and take"
            ))),
        }
    }

    fn assignments(&mut self, bare_allowed: bool) -> Result<Vec<(String, Expr)>, KqlError> {
        let mut out = Vec::new();
        loop {
            let named = matches!((self.toks.get(self.pos), self.toks.get(self.pos + 1)), (Some(Tok::Ident(_)), Some(Tok::Sym("="))));
            if named {
                let name = self.ident()?;
                self.expect_sym("=")?;
                out.push((name, self.expr()?));
            } else if bare_allowed {
                let e = self.expr()?;
                let name = match &e {
                    Expr::Path(col, steps) => std::iter::once(col.clone())
                        .chain(steps.iter().map(|s| match s {
                            Step::Key(k) => k.clone(),
                            Step::Index(i) => i.to_string(),
                        }))
                        .collect::<Vec<_>>()
                        .join("_"),
                    _ => {
                        self.auto += 1;
                        format!("Column{}", self.auto)
                    }
                };
                out.push((name, e));
            } else {
                return Err(KqlError(format!("'extend' needs 'name = expression', found {}", show(self.peek()))));
            }
            if !self.eat_sym(",") {
                return Ok(out);
            }
        }
    }

    fn expr(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.conjunction()?;
        while self.peek_word("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.conjunction()?));
        }
        Ok(left)
    }

    fn conjunction(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.comparison()?;
        while self.peek_word("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.comparison()?));
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Expr, KqlError> {
        let left = self.term()?;
        let op = match self.peek() {
            Some(Tok::Sym("==")) => Some(CmpOp::Eq),
            Some(Tok::Sym("=~")) => Some(CmpOp::EqCi),
            Some(Tok::Sym("!=")) => Some(CmpOp::Ne),
            Some(Tok::Sym("!~")) => Some(CmpOp::NeCi),
            Some(Tok::Ident(w)) => match w.to_ascii_lowercase().as_str() {
                "contains" | "has" => Some(CmpOp::Contains),
                "!contains" | "!has" => Some(CmpOp::NotContains),
                "startswith" => Some(CmpOp::StartsWith),
                "endswith" => Some(CmpOp::EndsWith),
                "in" | "in~" | "!in" | "!in~" => return self.membership(left),
                "and" | "or" | "asc" | "desc" => None,
                other => return Err(KqlError(format!("unsupported KQL operator '{other}' in an expression"))),
            },
            _ => None,
        };
        let Some(op) = op else { return Ok(left) };
        self.pos += 1;
        Ok(Expr::Cmp(Box::new(left), op, Box::new(self.term()?)))
    }

    fn membership(&mut self, left: Expr) -> Result<Expr, KqlError> {
        let word = self.ident()?.to_ascii_lowercase();
        self.expect_sym("(")?;
        let mut items = vec![self.term()?];
        while self.eat_sym(",") {
            items.push(self.term()?);
        }
        self.expect_sym(")")?;
        Ok(Expr::In(Box::new(left), items, word.ends_with('~'), word.starts_with('!')))
    }

    fn term(&mut self) -> Result<Expr, KqlError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Expr::Lit(serde_json::Value::String(s))),
            Some(Tok::Num(n)) => Ok(Expr::Lit(serde_json::json!(n))),
            Some(Tok::Sym("(")) => {
                let e = self.expr()?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Some(Tok::Ident(w)) if matches!(self.peek(), Some(Tok::Sym("("))) => self.call(&w),
            Some(Tok::Ident(w)) if w == "true" || w == "false" => Ok(Expr::Lit(serde_json::Value::Bool(w == "true"))),
            Some(Tok::Ident(w)) => self.path(w),
            other => Err(KqlError(format!("expected a value but found {}", show(other.as_ref())))),
        }
    }

    fn call(&mut self, name: &str) -> Result<Expr, KqlError> {
        let func = match name.to_ascii_lowercase().as_str() {
            "tostring" => Func::ToString,
            "tolower" => Func::ToLower,
            "toupper" => Func::ToUpper,
            "isnotempty" => Func::IsNotEmpty,
            "isempty" => Func::IsEmpty,
            "isnull" => Func::IsNull,
            "isnotnull" => Func::IsNotNull,
            "not" => {
                self.expect_sym("(")?;
                let e = self.expr()?;
                self.expect_sym(")")?;
                return Ok(Expr::Not(Box::new(e)));
            }
            other => {
                return Err(KqlError(format!(
                    "unsupported KQL function '{other}()'; the simulator supports tostring, tolower, toupper, isnotempty, isempty, isnull, isnotnull and not"
                )));
            }
        };
        self.expect_sym("(")?;
        let arg = self.expr()?;
        self.expect_sym(")")?;
        Ok(Expr::Call(func, Box::new(arg)))
    }

    fn path(&mut self, column: String) -> Result<Expr, KqlError> {
        let mut steps = Vec::new();
        loop {
            if self.eat_sym(".") {
                steps.push(Step::Key(self.ident()?));
            } else if self.eat_sym("[") {
                match self.next() {
                    Some(Tok::Str(k)) => steps.push(Step::Key(k)),
                    Some(Tok::Num(n)) if n >= 0.0 && n.fract() == 0.0 => steps.push(Step::Index(n as usize)),
                    other => return Err(KqlError(format!("unsupported index {}", show(other.as_ref())))),
                }
                self.expect_sym("]")?;
            } else {
                return Ok(Expr::Path(column, steps));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_queries_fleetgate_needs() {
        let q = parse("resources | where type =~ 'microsoft.containerservice/managedclusters' and properties.identityProfile.kubeletidentity.objectId =~ 'ab' | project id, name, properties").unwrap();
        assert_eq!(q.table, Table::Resources);
        assert_eq!(q.ops.len(), 2);
        let q = parse("authorizationresources | where type =~ 'microsoft.authorization/roleassignments' | extend principalId = tostring(properties.principalId), roleDefinitionId = tolower(tostring(properties.roleDefinitionId)) | where principalId =~ 'x' and roleDefinitionId endswith '7f951dda-4ed3-4680-a7ca-43fe172d538d' | project id, scope = tolower(tostring(properties.scope))").unwrap();
        assert_eq!(q.table, Table::AuthorizationResources);
        let q = parse("Resources | where tags['fleetgate.io/managed'] == 'true' and location in~ ('westeurope', 'eastus') | order by name asc | limit 5").unwrap();
        assert!(matches!(q.ops[1], Op::OrderBy(ref k) if !k[0].1));
        assert_eq!(q.ops[2], Op::Limit(5));
    }

    #[test]
    fn project_names_bare_paths() {
        let q = parse("resources | project properties.principalId, x = name, tolower(name)").unwrap();
        let Op::Project(cols) = &q.ops[0] else { panic!() };
        let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["properties_principalId", "x", "Column1"]);
    }

    #[test]
    fn rejects_unsupported_parts_by_name() {
        for (q, part) in [
            ("resources | summarize count() by type", "summarize"),
            ("resources | mv-expand x = properties", "mv-expand"),
            ("resources | where strlen(name) == 3", "strlen"),
            ("securityresources", "securityresources"),
            ("resources | where name matches regex 'a'", "matches"),
            ("resources | where a + b", "+"),
        ] {
            let err = parse(q).unwrap_err().0;
            assert!(err.contains(part), "{q}: {err}");
        }
    }
}
