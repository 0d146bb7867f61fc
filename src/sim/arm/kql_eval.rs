//! Running a parsed [`Query`](super::kql::Query) over rows (JSON objects). Referencing a column the rows do not have is an
//! error, as in KQL ("Failed to resolve scalar expression named …").

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::kql::{CmpOp, Expr, Func, KqlError, Op, Step};

/// One row: column name → value.
pub type Row = Map<String, Value>;

/// Applies `ops` to `rows` in order.
pub fn run(ops: &[Op], mut rows: Vec<Row>) -> Result<Vec<Row>, KqlError> {
    for op in ops {
        rows = match op {
            Op::Where(pred) => {
                let mut kept = Vec::with_capacity(rows.len());
                for row in rows {
                    if eval(pred, &row)? == Value::Bool(true) {
                        kept.push(row);
                    }
                }
                kept
            }
            Op::Extend(cols) => rows
                .into_iter()
                .map(|mut row| {
                    for (name, e) in cols {
                        let v = eval(e, &row)?;
                        row.insert(name.clone(), v);
                    }
                    Ok(row)
                })
                .collect::<Result<_, KqlError>>()?,
            Op::Project(cols) => rows
                .into_iter()
                .map(|row| cols.iter().map(|(name, e)| Ok((name.clone(), eval(e, &row)?))).collect::<Result<Row, KqlError>>())
                .collect::<Result<_, KqlError>>()?,
            Op::OrderBy(keys) => sort(rows, keys)?,
            Op::Limit(n) => rows.into_iter().take(*n).collect(),
        };
    }
    Ok(rows)
}

fn sort(rows: Vec<Row>, keys: &[(Expr, bool)]) -> Result<Vec<Row>, KqlError> {
    let mut keyed = Vec::with_capacity(rows.len());
    for row in rows {
        let k = keys.iter().map(|(e, _)| eval(e, &row)).collect::<Result<Vec<Value>, KqlError>>()?;
        keyed.push((k, row));
    }
    keyed.sort_by(|(a, _), (b, _)| {
        for (i, (_, desc)) in keys.iter().enumerate() {
            let ord = compare(&a[i], &b[i], *desc);
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    });
    Ok(keyed.into_iter().map(|(_, row)| row).collect())
}

/// KQL order: ascending puts nulls first, descending puts them last.
fn compare(a: &Value, b: &Value, desc: bool) -> Ordering {
    let ord = match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => to_text(a).cmp(&to_text(b)),
    };
    if desc { ord.reverse() } else { ord }
}

/// `tostring()`: strings as is, null as "", everything else as compact JSON.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn eval(e: &Expr, row: &Row) -> Result<Value, KqlError> {
    Ok(match e {
        Expr::Lit(v) => v.clone(),
        Expr::Path(col, steps) => {
            let Some(mut v) = row.get(col) else {
                return Err(KqlError(format!("Failed to resolve scalar expression named '{col}'")));
            };
            for step in steps {
                v = match (step, v) {
                    (Step::Key(k), Value::Object(m)) => m.get(k).unwrap_or(&Value::Null),
                    (Step::Index(i), Value::Array(a)) => a.get(*i).unwrap_or(&Value::Null),
                    _ => &Value::Null,
                };
            }
            v.clone()
        }
        Expr::Call(f, arg) => call(*f, eval(arg, row)?),
        Expr::Cmp(l, op, r) => Value::Bool(cmp(&eval(l, row)?, *op, &eval(r, row)?)),
        Expr::In(l, items, ci, negated) => {
            let v = eval(l, row)?;
            let mut hit = false;
            for item in items {
                let op = if *ci { CmpOp::EqCi } else { CmpOp::Eq };
                hit |= cmp(&v, op, &eval(item, row)?);
            }
            Value::Bool(hit != *negated)
        }
        Expr::And(a, b) => Value::Bool(truthy(&eval(a, row)?) && truthy(&eval(b, row)?)),
        Expr::Or(a, b) => Value::Bool(truthy(&eval(a, row)?) || truthy(&eval(b, row)?)),
        Expr::Not(a) => Value::Bool(!truthy(&eval(a, row)?)),
    })
}

fn truthy(v: &Value) -> bool {
    *v == Value::Bool(true)
}

fn call(f: Func, v: Value) -> Value {
    let empty = v.is_null() || v.as_str() == Some("");
    match f {
        Func::ToString => Value::String(to_text(&v)),
        Func::ToLower => Value::String(to_text(&v).to_lowercase()),
        Func::ToUpper => Value::String(to_text(&v).to_uppercase()),
        Func::IsNotEmpty => Value::Bool(!empty),
        Func::IsEmpty => Value::Bool(empty),
        Func::IsNull => Value::Bool(v.is_null()),
        Func::IsNotNull => Value::Bool(!v.is_null()),
    }
}

fn cmp(l: &Value, op: CmpOp, r: &Value) -> bool {
    let ci = |f: fn(&str, &str) -> bool| !l.is_null() && !r.is_null() && f(&to_text(l).to_lowercase(), &to_text(r).to_lowercase());
    match op {
        CmpOp::Eq => equal(l, r),
        CmpOp::Ne => !equal(l, r),
        CmpOp::EqCi => ci(|a, b| a == b),
        CmpOp::NeCi => !ci(|a, b| a == b),
        CmpOp::Contains => ci(|a, b| a.contains(b)),
        CmpOp::NotContains => !ci(|a, b| a.contains(b)),
        CmpOp::StartsWith => ci(|a, b| a.starts_with(b)),
        CmpOp::EndsWith => ci(|a, b| a.ends_with(b)),
    }
}

fn equal(l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(_), _) | (_, Value::String(_)) => to_text(l) == to_text(r),
        _ => l == r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::arm::kql::parse;
    use serde_json::json;

    fn rows() -> Vec<Row> {
        [
            json!({"id": "/a", "name": "Alpha", "tags": {"team": "x", "fleetgate.io/managed": "true"}, "properties": {"n": 2, "oid": "AB"}}),
            json!({"id": "/b", "name": "beta", "tags": {}, "properties": {"n": 1, "oid": "cd"}}),
            json!({"id": "/c", "name": "Gamma", "tags": {"team": "y"}, "properties": {"n": null, "oid": ""}}),
        ]
        .into_iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect()
    }

    fn q(text: &str) -> Vec<Value> {
        let query = parse(text).unwrap();
        run(&query.ops, rows()).unwrap().into_iter().map(Value::Object).collect()
    }

    #[test]
    fn comparisons_follow_kql_case_rules() {
        assert_eq!(q("resources | where name == 'alpha'").len(), 0);
        assert_eq!(q("resources | where name =~ 'alpha'").len(), 1);
        assert_eq!(q("resources | where name != 'beta'").len(), 2);
        assert_eq!(q("resources | where name !~ 'BETA'").len(), 2);
        assert_eq!(q("resources | where name in ('beta', 'Gamma')").len(), 2);
        assert_eq!(q("resources | where name in~ ('ALPHA')").len(), 1);
        assert_eq!(q("resources | where name !in ('beta')").len(), 2);
        assert_eq!(q("resources | where name endswith 'MA' and name startswith 'g'").len(), 1);
        assert_eq!(q("resources | where name contains 'ET' or name has 'lph'").len(), 2);
        assert_eq!(q("resources | where isnotempty(properties.oid)").len(), 2);
        assert_eq!(q("resources | where isempty(properties.n)").len(), 1);
        assert_eq!(q("resources | where tags['fleetgate.io/managed'] == 'true'").len(), 1);
        assert_eq!(q("resources | where not(name == 'beta')").len(), 2);
        assert_eq!(q("resources | where properties.n == 2").len(), 1);
    }

    #[test]
    fn extend_project_order_limit() {
        let out = q("resources | extend oid = tolower(tostring(properties.oid)) | where oid == 'ab' | project id, oid, team = tags.team");
        assert_eq!(out, vec![json!({"id": "/a", "oid": "ab", "team": "x"})]);
        let ids: Vec<Value> = q("resources | order by name asc | project id").into_iter().map(|r| r["id"].clone()).collect();
        assert_eq!(ids, [json!("/a"), json!("/c"), json!("/b")], "case-sensitive ordinal order");
        let desc = q("resources | sort by properties.n | take 2");
        assert_eq!(desc.len(), 2);
        assert_eq!(desc[0]["id"], json!("/a"), "desc is the default; nulls last");
        assert_eq!(q("resources | project properties.oid")[1], json!({"properties_oid": "cd"}));
    }

    #[test]
    fn unknown_column_is_an_error() {
        let query = parse("resources | where nmae == 'x'").unwrap();
        let err = run(&query.ops, rows()).unwrap_err();
        assert!(err.0.contains("nmae"));
        let projected = parse("resources | project id | where name == 'x'").unwrap();
        assert!(run(&projected.ops, rows()).is_err(), "project drops columns");
    }
}
