//! Kubernetes name rules for namespaces and rollout names, checked at every entry point
//! (HTTP paths, query filters, WebSocket subscriptions, the action executor).
//!
//! The kube client puts a namespace and a name into the request path as they are, without
//! percent-encoding: `a/../other` or `x?dryRun=All` would change which object a request
//! reaches. Only names Kubernetes itself could have created are let through, so nothing
//! from a request can reshape a Kubernetes URL. The checks are pure and allocation-free
//! on success.

/// Longest namespace (a DNS-1123 label).
pub const MAX_NAMESPACE: usize = 63;
/// Longest object name (a DNS-1123 subdomain).
pub const MAX_NAME: usize = 253;
/// Longest part of a refused value echoed back in an error (the rest is elided).
const MAX_ECHO: usize = 64;

/// Which value broke a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A namespace: a DNS-1123 label.
    Namespace,
    /// A rollout (object) name: a DNS-1123 subdomain.
    Name,
}

impl NameKind {
    fn as_str(self) -> &'static str {
        match self {
            NameKind::Namespace => "namespace",
            NameKind::Name => "name",
        }
    }
}

/// The rule a value broke, in the words of the Kubernetes validation messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The value is empty.
    Empty,
    /// Longer than the limit (63 for a namespace, 253 for a name).
    TooLong(usize),
    /// A character outside lowercase letters, digits, '-' (and '.' for names).
    BadCharacter,
    /// A label (the whole namespace, or a '.'-separated part of a name) does not start and
    /// end with a letter or digit.
    BadEdge,
}

/// A namespace or name Kubernetes would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {} {value:?}: {}", kind.as_str(), rule_text(*kind, *rule))]
pub struct NameError {
    /// Namespace or name.
    pub kind: NameKind,
    /// The rule broken.
    pub rule: Rule,
    /// The value (at most [`MAX_ECHO`] characters of it, then `…`).
    pub value: String,
}

fn rule_text(kind: NameKind, rule: Rule) -> String {
    let what = match kind {
        NameKind::Namespace => "a namespace must be a DNS-1123 label",
        NameKind::Name => "a rollout name must be a DNS-1123 subdomain",
    };
    let detail = match (kind, rule) {
        (_, Rule::Empty) => "it must not be empty".to_owned(),
        (_, Rule::TooLong(max)) => format!("at most {max} characters"),
        (NameKind::Namespace, Rule::BadCharacter) => {
            "only lowercase letters, digits and '-'".to_owned()
        }
        (NameKind::Name, Rule::BadCharacter) => {
            "only lowercase letters, digits, '-' and '.'".to_owned()
        }
        (NameKind::Namespace, Rule::BadEdge) => {
            "it must start and end with a lowercase letter or digit".to_owned()
        }
        (NameKind::Name, Rule::BadEdge) => {
            "each '.'-separated part must start and end with a lowercase letter or digit".to_owned()
        }
    };
    format!("{what} ({detail})")
}

impl NameError {
    /// The field: `namespace` or `name`.
    pub fn field(&self) -> &'static str {
        self.kind.as_str()
    }

    /// The Kubernetes rule the field follows, as a stable identifier: `dns1123Label` for a
    /// namespace, `dns1123Subdomain` for a name.
    pub fn rule_id(&self) -> &'static str {
        match self.kind {
            NameKind::Namespace => "dns1123Label",
            NameKind::Name => "dns1123Subdomain",
        }
    }

    fn new(kind: NameKind, rule: Rule, value: &str) -> Self {
        let mut echoed: String = value.chars().take(MAX_ECHO).collect();
        if echoed.len() < value.len() {
            echoed.push('…');
        }
        NameError {
            kind,
            rule,
            value: echoed,
        }
    }
}

/// Checks one DNS-1123 label's characters and edges (length is checked by the caller).
fn label_rule(label: &str, dots_allowed: bool) -> Option<Rule> {
    let bytes = label.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes
        .iter()
        .all(|&b| alnum(b) || b == b'-' || (dots_allowed && b == b'.'))
    {
        return Some(Rule::BadCharacter);
    }
    let edges_ok = |part: &[u8]| {
        part.first().is_some_and(|&b| alnum(b)) && part.last().is_some_and(|&b| alnum(b))
    };
    let ok = if dots_allowed {
        bytes.split(|&b| b == b'.').all(edges_ok)
    } else {
        edges_ok(bytes)
    };
    (!ok).then_some(Rule::BadEdge)
}

/// A namespace: a DNS-1123 label (lowercase letters, digits and '-', starting and ending
/// with a letter or digit, at most 63 characters).
pub fn check_namespace(namespace: &str) -> Result<(), NameError> {
    check(namespace, NameKind::Namespace, MAX_NAMESPACE, false)
}

/// A rollout name: a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', each
/// '.'-separated label starting and ending with a letter or digit, at most 253 characters).
pub fn check_name(name: &str) -> Result<(), NameError> {
    check(name, NameKind::Name, MAX_NAME, true)
}

/// Both parts of a rollout's key; the namespace is reported first.
pub fn check_key(namespace: &str, name: &str) -> Result<(), NameError> {
    check_namespace(namespace)?;
    check_name(name)
}

fn check(value: &str, kind: NameKind, max: usize, dots: bool) -> Result<(), NameError> {
    let rule = if value.is_empty() {
        Some(Rule::Empty)
    } else if value.len() > max {
        Some(Rule::TooLong(max))
    } else {
        label_rule(value, dots)
    };
    match rule {
        Some(rule) => Err(NameError::new(kind, rule, value)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_dns_labels() {
        for ok in ["a", "default", "demo-shop", "a1", "1a", &"a".repeat(63)] {
            assert_eq!(check_namespace(ok), Ok(()), "{ok}");
        }
        let cases: [(&str, Rule); 14] = [
            ("", Rule::Empty),
            (&"a".repeat(64), Rule::TooLong(63)),
            ("a/b", Rule::BadCharacter),
            ("..", Rule::BadCharacter),
            ("a.b", Rule::BadCharacter),
            ("a?b", Rule::BadCharacter),
            ("a\0b", Rule::BadCharacter),
            ("Shop", Rule::BadCharacter),
            ("caf\u{e9}", Rule::BadCharacter),
            ("a b", Rule::BadCharacter),
            ("a%2Fb", Rule::BadCharacter),
            ("-a", Rule::BadEdge),
            ("a-", Rule::BadEdge),
            ("-", Rule::BadEdge),
        ];
        for (bad, rule) in cases {
            let err = check_namespace(bad).unwrap_err();
            assert_eq!((err.kind, err.rule), (NameKind::Namespace, rule), "{bad:?}");
        }
    }

    #[test]
    fn names_are_dns_subdomains() {
        for ok in [
            "canary-demo",
            "a.b.c",
            "web-1.v2",
            "0",
            &"a".repeat(253),
            &format!("{}.{}", "a".repeat(63), "b".repeat(63)),
        ] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        let cases: [(&str, Rule); 12] = [
            ("", Rule::Empty),
            (&"a".repeat(254), Rule::TooLong(253)),
            (&"a".repeat(300), Rule::TooLong(253)),
            ("a/b", Rule::BadCharacter),
            ("x?dryRun=All", Rule::BadCharacter),
            ("A", Rule::BadCharacter),
            ("a_b", Rule::BadCharacter),
            ("\u{1F600}", Rule::BadCharacter),
            ("..", Rule::BadEdge),
            ("a..b", Rule::BadEdge),
            (".a", Rule::BadEdge),
            ("a.-b", Rule::BadEdge),
        ];
        for (bad, rule) in cases {
            let err = check_name(bad).unwrap_err();
            assert_eq!((err.kind, err.rule), (NameKind::Name, rule), "{bad:?}");
        }
    }

    #[test]
    fn errors_name_the_rule_and_bound_the_echo() {
        let err = check_key("a/../b", "ok").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("DNS-1123 label"), "{text}");
        assert!(
            text.contains("only lowercase letters, digits and '-'"),
            "{text}"
        );
        let err = check_key("ok", &"x".repeat(300)).unwrap_err();
        assert!(err.to_string().contains("at most 253 characters"), "{err}");
        assert_eq!(err.value.chars().count(), MAX_ECHO + 1);
        let err = check_name("a..b").unwrap_err();
        assert!(err.to_string().contains("DNS-1123 subdomain"), "{err}");
    }
}
