use std::fmt;

use serde_json::Value;

/// One step of a [`ClaimPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PathSegment {
    /// An object member.
    Key(String),
    /// An array element, by its index in the fully disclosed array.
    Index(usize),
    /// Every element of an array (`null` in an OpenID4VP DCQL claims path).
    AnyIndex,
}

/// A path to a claim, as in OpenID4VP 1.0 section 7 (claims path pointer): a list of object
/// member names, array indexes and "any element".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ClaimPath(pub Vec<PathSegment>);

impl ClaimPath {
    /// A path of object member names.
    pub fn keys<'a>(names: impl IntoIterator<Item = &'a str>) -> ClaimPath {
        ClaimPath(
            names
                .into_iter()
                .map(|n| PathSegment::Key(n.to_owned()))
                .collect(),
        )
    }

    /// Parses dotted text: `address.locality`, `age_equal_or_over.18`, `nationalities.1`.
    /// A segment of digits is an array index where the claim is an array and a member name
    /// otherwise; matching resolves that ([`ClaimPath::matches`]). `*` is any element.
    pub fn parse_dotted(text: &str) -> ClaimPath {
        ClaimPath(
            text.split('.')
                .map(|s| {
                    if s == "*" {
                        PathSegment::AnyIndex
                    } else {
                        PathSegment::Key(s.to_owned())
                    }
                })
                .collect(),
        )
    }

    /// Parses a DCQL claims path: a JSON array of strings, non-negative integers and `null`.
    /// Returns `None` for anything else.
    pub fn from_json(value: &Value) -> Option<ClaimPath> {
        let items = value.as_array()?;
        if items.is_empty() {
            return None;
        }
        items
            .iter()
            .map(|v| match v {
                Value::String(s) => Some(PathSegment::Key(s.clone())),
                Value::Number(n) => n
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .map(PathSegment::Index),
                Value::Null => Some(PathSegment::AnyIndex),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(ClaimPath)
    }

    /// The segments.
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }

    /// A child path.
    #[must_use]
    pub fn child(&self, segment: PathSegment) -> ClaimPath {
        let mut segments = self.0.clone();
        segments.push(segment);
        ClaimPath(segments)
    }

    /// Whether this pattern (which may hold [`PathSegment::AnyIndex`] and digit keys standing
    /// for indexes) matches the concrete path `concrete` segment for segment.
    pub fn matches(&self, concrete: &[PathSegment]) -> bool {
        self.0.len() == concrete.len()
            && self
                .0
                .iter()
                .zip(concrete)
                .all(|(p, c)| segment_matches(p, c))
    }

    /// Whether this pattern matches a prefix of `concrete` (the claim at `concrete` lies at or
    /// below the pattern).
    pub fn is_prefix_of(&self, concrete: &[PathSegment]) -> bool {
        self.0.len() <= concrete.len() && self.matches(&concrete[..self.0.len()])
    }

    /// Whether `concrete` matches a prefix of this pattern (the claim at `concrete` lies on the
    /// way to the pattern).
    pub fn has_prefix(&self, concrete: &[PathSegment]) -> bool {
        concrete.len() <= self.0.len()
            && ClaimPath(self.0[..concrete.len()].to_vec()).matches(concrete)
    }

    /// Looks the path up in a JSON value.
    pub fn lookup<'a>(&self, value: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![value];
        for segment in &self.0 {
            let mut next = Vec::new();
            for v in current {
                match (segment, v) {
                    (PathSegment::Key(k), Value::Object(map)) => next.extend(map.get(k)),
                    (PathSegment::Key(k), Value::Array(items)) => {
                        if let Some(item) = k.parse::<usize>().ok().and_then(|i| items.get(i)) {
                            next.push(item);
                        }
                    }
                    (PathSegment::Index(i), Value::Array(items)) => next.extend(items.get(*i)),
                    (PathSegment::AnyIndex, Value::Array(items)) => next.extend(items.iter()),
                    _ => {}
                }
            }
            current = next;
        }
        current
    }
}

fn segment_matches(pattern: &PathSegment, concrete: &PathSegment) -> bool {
    match (pattern, concrete) {
        (PathSegment::AnyIndex, PathSegment::Index(_)) => true,
        (PathSegment::Key(k), PathSegment::Index(i)) => k.parse::<usize>().ok() == Some(*i),
        (p, c) => p == c,
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            match s {
                PathSegment::Key(k) => f.write_str(k)?,
                PathSegment::Index(i) => write!(f, "{i}")?,
                PathSegment::AnyIndex => f.write_str("*")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn dotted_and_dcql_paths_match() {
        let concrete = [
            PathSegment::Key("nationalities".into()),
            PathSegment::Index(1),
        ];
        assert!(ClaimPath::parse_dotted("nationalities.1").matches(&concrete));
        assert!(ClaimPath::parse_dotted("nationalities.*").matches(&concrete));
        assert!(!ClaimPath::parse_dotted("nationalities.0").matches(&concrete));
        let dcql = ClaimPath::from_json(&json!(["nationalities", null])).unwrap();
        assert!(dcql.matches(&concrete));
        assert!(ClaimPath::parse_dotted("nationalities").is_prefix_of(&concrete));
        assert!(ClaimPath::parse_dotted("nationalities.1").has_prefix(&concrete[..1]));
        assert_eq!(ClaimPath::from_json(&json!([true])), None);
        assert_eq!(ClaimPath::from_json(&json!([])), None);
    }

    #[test]
    fn lookup() {
        let v = json!({"a": {"b": [1, 2]}, "c": {"18": true}});
        assert_eq!(ClaimPath::parse_dotted("a.b.1").lookup(&v), vec![&json!(2)]);
        assert_eq!(
            ClaimPath::parse_dotted("c.18").lookup(&v),
            vec![&json!(true)]
        );
        assert_eq!(ClaimPath::parse_dotted("a.b.*").lookup(&v).len(), 2);
        assert!(ClaimPath::parse_dotted("x").lookup(&v).is_empty());
    }
}
