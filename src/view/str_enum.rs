//! `str_enum!`: a closed set of strings that the view itself produces, as a Rust enum.
//!
//! The protocol sends these values as plain JSON strings (upstream's words, byte for byte, so
//! the fixtures compare unchanged); TypeScript gets them as a union of literals (ts-rs reads the
//! serde renames), and Rust code matches on variants instead of comparing text. Each variant's
//! string is written once, in the macro call, and serde, `as_str` and `Display` all
//! take it from there, so they cannot disagree.
//!
//! Not for values passed through from an object's status as the cluster wrote them (a
//! controller's phase): a newer controller may invent one, and it must reach the page as
//! written, so those stay `String`s with a `ts(type = …)` union and a `(string & {})` fallback.

/// Declares `enum $name { Variant = "wire text", … }` with serde, ts-rs (in tests), `Default`
/// (mark one variant `#[default]`), `as_str`, `ALL`, `Display`, and `PartialEq<str>` (for
/// comparing with upstream's figures, which are text).
macro_rules! str_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $text:tt
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, Default, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        #[cfg_attr(test, derive(ts_rs::TS))]
        $vis enum $name {
            $(
                $(#[$vmeta])*
                #[serde(rename = $text)]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            /// The text sent on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

pub(crate) use str_enum;

#[cfg(test)]
mod tests {
    use super::super::{
        AnalysisRefKind, ContainersSource, PodIcon, PodIconClass, ReplicaSetHealth, ReplicaSetRole,
        RolloutStrategy, StepKind, StepState, ThresholdOp,
    };

    /// The serde text of every value is its `as_str`, and parsing it back gives the value.
    fn round_trips<T>(all: &[T], as_str: fn(T) -> &'static str)
    where
        T: Copy + std::fmt::Debug + PartialEq + serde::Serialize + serde::de::DeserializeOwned,
    {
        for &value in all {
            let json = serde_json::to_value(value).unwrap();
            assert_eq!(json, serde_json::Value::from(as_str(value)), "{value:?}");
            assert_eq!(serde_json::from_value::<T>(json).unwrap(), value);
        }
    }

    #[test]
    fn wire_text_is_as_str() {
        round_trips(AnalysisRefKind::ALL, AnalysisRefKind::as_str);
        round_trips(ContainersSource::ALL, ContainersSource::as_str);
        round_trips(PodIcon::ALL, PodIcon::as_str);
        round_trips(PodIconClass::ALL, PodIconClass::as_str);
        round_trips(ReplicaSetHealth::ALL, ReplicaSetHealth::as_str);
        round_trips(ReplicaSetRole::ALL, ReplicaSetRole::as_str);
        round_trips(RolloutStrategy::ALL, RolloutStrategy::as_str);
        round_trips(StepKind::ALL, StepKind::as_str);
        round_trips(StepState::ALL, StepState::as_str);
        round_trips(ThresholdOp::ALL, ThresholdOp::as_str);
    }

    #[test]
    fn unknown_step_kinds_parse_as_unknown() {
        // A frame from a newer server naming a step kind this build does not know.
        let kind: StepKind = serde_json::from_str(r#""setSomethingNew""#).unwrap();
        assert_eq!(kind, StepKind::Unknown);
    }
}
