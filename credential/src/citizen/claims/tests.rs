use serde_json::json;
use time::macros::date;

use super::*;
use crate::citizen::IdNumberError;

const BASIC_JSON: &str = include_str!("../../../../examples/claims/citizen-basic.json");
const HIGH_JSON: &str = include_str!("../../../../examples/claims/citizen-high.json");

fn basic() -> Value {
    serde_json::from_str(BASIC_JSON).unwrap()
}

fn high() -> Value {
    serde_json::from_str(HIGH_JSON).unwrap()
}

/// `value` with `f` applied to its object.
fn with(mut value: Value, f: impl FnOnce(&mut Map<String, Value>)) -> Value {
    f(value.as_object_mut().unwrap());
    value
}

/// `value` with the member `key` of its object member `object` set to `member`.
fn with_member(value: Value, object: &str, key: &str, member: Value) -> Value {
    with(value, |o| {
        o[object]
            .as_object_mut()
            .unwrap()
            .insert(key.into(), member);
    })
}

/// `claims` with the top-level claim `name` set to `bad` is refused as an invalid value of
/// `name`, which should be `expected`.
fn refuses_value(
    claims: Value,
    level: Level,
    name: &'static str,
    bad: &Value,
    expected: &'static str,
) {
    let v = with(claims, |o| {
        o.insert(name.into(), bad.clone());
    });
    assert_eq!(
        check(&v, level),
        Err(invalid(name, expected)),
        "{name} {bad}"
    );
}

/// A high credential with the member `key` of its object claim `object` set to `bad` is refused
/// as an invalid value of `name`, which should be `expected`.
fn refuses_member(
    object: &str,
    key: &str,
    name: &'static str,
    bad: &Value,
    expected: &'static str,
) {
    let v = with_member(high(), object, key, bad.clone());
    assert_eq!(
        check(&v, Level::High),
        Err(invalid(name, expected)),
        "{name} {bad}"
    );
}

fn check(value: &Value, level: Level) -> Result<CitizenClaims, ClaimsError> {
    CitizenClaims::from_value(value, level)
}

fn invalid(name: &'static str, expected: &'static str) -> ClaimsError {
    ClaimsError::InvalidClaimValue { name, expected }
}

#[test]
fn sample_files_validate() {
    let b = CitizenClaims::from_json(BASIC_JSON, Level::Basic).unwrap();
    assert_eq!(b.level(), Level::Basic);
    assert_eq!(b.family_name(), "李");
    assert_eq!(b.given_name(), "雪梅");
    assert_eq!(b.birthdate(), date!(1992 - 05 - 17));
    assert_eq!(b.sex(), Sex::Female);
    assert_eq!(b.nationality(), "CN");
    assert_eq!(b.id_number().as_str(), "110105199205179985");
    assert!(b.high().is_none());

    let h = CitizenClaims::from_json(HIGH_JSON, Level::High).unwrap();
    assert_eq!(h.level(), Level::High);
    let hc = h.high().unwrap();
    assert_eq!(hc.ethnicity(), "汉");
    assert_eq!(hc.address().region(), "北京市");
    assert_eq!(hc.address().locality(), "朝阳区");
    assert_eq!(hc.address().country(), "CN");
    assert_eq!(hc.address().postal_code(), Some("100020"));
    assert!(hc.address().formatted().is_some());
    assert_eq!(hc.id_card().issuing_authority(), "北京市公安局朝阳分局");
    assert_eq!(
        hc.id_card().valid_until(),
        CardValidity::Until(date!(2042 - 08 - 20))
    );
    assert!(hc.portrait().jpeg().len() < 2048);
    // Basic claims are the same person.
    assert_eq!(h.id_number(), b.id_number());
}

#[test]
fn round_trip_through_to_value_and_serde() {
    for (json, level) in [(BASIC_JSON, Level::Basic), (HIGH_JSON, Level::High)] {
        let claims = CitizenClaims::from_json(json, level).unwrap();
        let value = claims.to_value();
        let original: Value = serde_json::from_str(json).unwrap();
        assert_eq!(value, original);
        assert_eq!(serde_json::to_value(&claims).unwrap(), value);
        assert_eq!(CitizenClaims::from_value(&value, level).unwrap(), claims);
    }
}

#[test]
fn disclosable_claims_add_age() {
    let h = CitizenClaims::from_json(HIGH_JSON, Level::High).unwrap();
    let claims = h.disclosable_claims(date!(2026 - 01 - 15));
    assert_eq!(
        claims["age_equal_or_over"],
        json!({"16": true, "18": true, "60": false})
    );
    let mut names: Vec<&str> = claims.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut expected: Vec<&str> = BASIC_CLAIMS
        .iter()
        .chain(&HIGH_ONLY_CLAIMS)
        .copied()
        .collect();
    expected.sort_unstable();
    assert_eq!(names, expected);

    let b = CitizenClaims::from_json(BASIC_JSON, Level::Basic).unwrap();
    let claims = b.disclosable_claims(date!(2026 - 01 - 15));
    let mut names: Vec<&str> = claims.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut expected = BASIC_CLAIMS.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
}

#[test]
fn debug_shows_no_personal_data() {
    let h = CitizenClaims::from_json(HIGH_JSON, Level::High).unwrap();
    for debug in [
        format!("{h:?}"),
        format!("{h:#?}"),
        format!("{:?}", h.high()),
    ] {
        for secret in [
            "李",
            "雪梅",
            "1992",
            "110105",
            "北京",
            "示例路",
            "汉",
            "/9j/",
        ] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
    }
    assert_eq!(
        format!("{h:?}"),
        "CitizenClaims { level: High, id_number: IdNumber(\"**************9985\"), .. }"
    );
}

// ---- age ------------------------------------------------------------------------------------

/// `age_in_years(born, on)` is `age` for each `(born, on, age)`.
fn ages_are(cases: &[(Date, Date, Option<u32>)]) {
    for &(born, on, age) in cases {
        assert_eq!(age_in_years(born, on), age, "born {born}, on {on}");
    }
}

#[test]
fn age_on_birthdays() {
    let born = date!(2008 - 05 - 17);
    ages_are(&[
        (born, date!(2008 - 05 - 16), None),
        (born, born, Some(0)),
        (born, date!(2026 - 05 - 16), Some(17)),
        (born, date!(2026 - 05 - 17), Some(18)),
        (born, date!(2026 - 12 - 31), Some(18)),
        (date!(1992 - 12 - 31), date!(2010 - 12 - 30), Some(17)),
        (date!(1992 - 12 - 31), date!(2010 - 12 - 31), Some(18)),
        (date!(1992 - 01 - 01), date!(2009 - 12 - 31), Some(17)),
        (date!(1992 - 01 - 01), date!(2010 - 01 - 01), Some(18)),
    ]);
}

#[test]
fn age_on_leap_days() {
    let born = date!(2000 - 02 - 29);
    ages_are(&[
        // Common year: the birthday is 1 March.
        (born, date!(2018 - 02 - 28), Some(17)),
        (born, date!(2018 - 03 - 01), Some(18)),
        (born, date!(2001 - 02 - 28), Some(0)),
        (born, date!(2001 - 03 - 01), Some(1)),
        // Leap year: the birthday is 29 February.
        (born, date!(2016 - 02 - 28), Some(15)),
        (born, date!(2016 - 02 - 29), Some(16)),
        // 2100 is not a leap year.
        (born, date!(2100 - 02 - 28), Some(99)),
        (born, date!(2100 - 03 - 01), Some(100)),
        // Someone born on 1 March is not affected by the leap-day rule.
        (date!(2000 - 03 - 01), date!(2018 - 02 - 28), Some(17)),
        (date!(2000 - 03 - 01), date!(2018 - 03 - 01), Some(18)),
        // Born 28 February in a leap year: birthday stays 28 February.
        (date!(2000 - 02 - 28), date!(2018 - 02 - 28), Some(18)),
    ]);
}

#[test]
fn age_over_thresholds() {
    // Born 29 February 2000, sequence 998 (reserved, so fictional).
    let claims = with(basic(), |o| {
        o.insert("birthdate".into(), json!("2000-02-29"));
        o.insert("id_number".into(), json!("110105200002299982"));
    });
    let c = check(&claims, Level::Basic).unwrap();
    let ages = |d| c.age_over(d);
    assert_eq!(
        ages(date!(2016 - 02 - 28)),
        BTreeMap::from([
            ("16".to_owned(), false),
            ("18".to_owned(), false),
            ("60".to_owned(), false)
        ])
    );
    assert!(ages(date!(2016 - 02 - 29))["16"]);
    assert!(!ages(date!(2018 - 02 - 28))["18"]);
    assert!(ages(date!(2018 - 03 - 01))["18"]);
    assert!(!ages(date!(2060 - 02 - 28))["60"]);
    assert!(ages(date!(2060 - 02 - 29))["60"]);
    // Before birth: all false.
    assert!(ages(date!(1999 - 01 - 01)).values().all(|v| !v));
    assert_eq!(c.age(date!(1999 - 01 - 01)), None);
}

// ---- rejection paths, one per ClaimsError variant ------------------------------------------

#[test]
fn input_too_large() {
    let text = format!("{}{}", " ".repeat(MAX_CLAIMS_JSON_BYTES), BASIC_JSON);
    assert_eq!(
        CitizenClaims::from_json(&text, Level::Basic),
        Err(ClaimsError::InputTooLarge {
            bytes: text.len(),
            max: MAX_CLAIMS_JSON_BYTES
        })
    );
}

#[test]
fn malformed_json() {
    assert_eq!(
        CitizenClaims::from_json("{\"family_name\": }", Level::Basic),
        Err(ClaimsError::MalformedJson {
            line: 1,
            column: 17
        })
    );
    assert!(matches!(
        CitizenClaims::from_json(&format!("{BASIC_JSON} {{}}"), Level::Basic),
        Err(ClaimsError::MalformedJson { .. })
    ));
}

#[test]
fn duplicate_key() {
    let text = r#"{"family_name": "李", "family_name": "王"}"#;
    assert!(matches!(
        CitizenClaims::from_json(text, Level::Basic),
        Err(ClaimsError::DuplicateKey { line: 1, .. })
    ));
    let text = HIGH_JSON.replace(
        "\"country\": \"CN\"",
        "\"country\": \"CN\", \"country\": \"US\"",
    );
    assert!(matches!(
        CitizenClaims::from_json(&text, Level::High),
        Err(ClaimsError::DuplicateKey { .. })
    ));
}

#[test]
fn not_an_object() {
    for v in [json!([]), json!("x"), json!(null), json!(1)] {
        assert_eq!(check(&v, Level::Basic), Err(ClaimsError::NotAnObject));
    }
}

#[test]
fn unknown_claims() {
    let v = with(basic(), |o| {
        o.insert("birth_date".into(), json!("1992-05-17"));
    });
    assert_eq!(
        check(&v, Level::Basic),
        Err(ClaimsError::UnknownClaim {
            name: "birth_date".into()
        })
    );
    // Reserved JWT and VC members are not claims of the input either.
    for name in ["iss", "vct", "cnf", "_sd", "credentialSubject"] {
        let v = with(basic(), |o| {
            o.insert(name.into(), json!(1));
        });
        assert_eq!(
            check(&v, Level::Basic),
            Err(ClaimsError::UnknownClaim { name: name.into() })
        );
    }
    let v = with_member(high(), "address", "house_number", json!("1"));
    assert_eq!(
        check(&v, Level::High),
        Err(ClaimsError::UnknownClaim {
            name: "address.house_number".into()
        })
    );
    let v = with_member(high(), "id_card", "valid_from", json!("2022-08-20"));
    assert_eq!(
        check(&v, Level::High),
        Err(ClaimsError::UnknownClaim {
            name: "id_card.valid_from".into()
        })
    );
    // Long names are truncated.
    let long = "x".repeat(500);
    let v = with(basic(), |o| {
        o.insert(long.clone(), json!(1));
    });
    assert_eq!(
        check(&v, Level::Basic),
        Err(ClaimsError::UnknownClaim {
            name: "x".repeat(64)
        })
    );
}

#[test]
fn computed_claim() {
    let v = with(basic(), |o| {
        o.insert("age_equal_or_over".into(), json!({"18": true}));
    });
    assert_eq!(
        check(&v, Level::Basic),
        Err(ClaimsError::ComputedClaim {
            name: "age_equal_or_over"
        })
    );
}

#[test]
fn missing_claims() {
    // Every basic claim is required except the computed `age_equal_or_over`.
    for name in BASIC_CLAIMS
        .into_iter()
        .filter(|c| *c != "age_equal_or_over")
    {
        let v = with(basic(), |o| {
            o.remove(name);
        });
        assert_eq!(
            check(&v, Level::Basic),
            Err(ClaimsError::MissingClaim {
                name: BASIC_CLAIMS.iter().find(|&&n| n == name).unwrap()
            }),
            "{name}"
        );
    }
    for name in HIGH_ONLY_CLAIMS {
        let v = with(high(), |o| {
            o.remove(name);
        });
        assert_eq!(
            check(&v, Level::High),
            Err(ClaimsError::MissingClaim { name }),
            "{name}"
        );
    }
    // Basic claims validated as high lack every high-only claim.
    assert_eq!(
        check(&basic(), Level::High),
        Err(ClaimsError::MissingClaim { name: "address" })
    );
    for (object, members) in [
        (
            "address",
            &["street_address", "locality", "region", "country"][..],
        ),
        ("id_card", &["issuing_authority", "valid_until"][..]),
    ] {
        for member in members {
            let v = with(high(), |o| {
                o[object].as_object_mut().unwrap().remove(*member);
            });
            let name = format!("{object}.{member}");
            let got = check(&v, Level::High);
            assert!(
                matches!(got, Err(ClaimsError::MissingClaim { name: n }) if n == name),
                "{name}: {got:?}"
            );
        }
    }
    // formatted and postal_code are optional.
    let v = with(high(), |o| {
        let a = o["address"].as_object_mut().unwrap();
        a.remove("formatted");
        a.remove("postal_code");
    });
    let c = check(&v, Level::High).unwrap();
    assert_eq!(c.high().unwrap().address().formatted(), None);
    assert_eq!(c.high().unwrap().address().postal_code(), None);
    assert_eq!(c.to_value(), v);
}

#[test]
fn high_claims_not_allowed_at_basic() {
    // Validating the high sample as basic fails on the first high-only member (map order).
    assert_eq!(
        check(&high(), Level::Basic),
        Err(ClaimsError::ClaimNotAllowed {
            name: "address",
            level: Level::Basic
        })
    );
    for name in HIGH_ONLY_CLAIMS {
        let v = with(basic(), |o| {
            o.insert(name.into(), high()[name].clone());
        });
        assert_eq!(
            check(&v, Level::Basic),
            Err(ClaimsError::ClaimNotAllowed {
                name,
                level: Level::Basic
            }),
            "{name}"
        );
    }
}

#[test]
fn invalid_text_claims() {
    for (name, bad) in [
        ("family_name", json!("")),
        ("family_name", json!(" 李")),
        ("family_name", json!(7)),
        ("family_name", json!(null)),
        ("given_name", json!("雪\n梅")),
        ("given_name", json!(["雪梅"])),
        ("given_name", json!("梅".repeat(201))),
    ] {
        refuses_value(basic(), Level::Basic, name, &bad, TEXT_EXPECTED);
    }
    let v = with(high(), |o| {
        o.insert("ethnicity".into(), json!(""));
    });
    assert_eq!(
        check(&v, Level::High),
        Err(invalid("ethnicity", TEXT_EXPECTED))
    );
    for (member, name) in [
        ("formatted", "address.formatted"),
        ("street_address", "address.street_address"),
        ("locality", "address.locality"),
        ("region", "address.region"),
        ("postal_code", "address.postal_code"),
    ] {
        refuses_member("address", member, name, &json!(100020), TEXT_EXPECTED);
    }
    refuses_member(
        "id_card",
        "issuing_authority",
        "id_card.issuing_authority",
        &json!("\t"),
        TEXT_EXPECTED,
    );
}

#[test]
fn invalid_birthdate_value() {
    for bad in [
        json!("1992-5-17"),
        json!("17.05.1992"),
        json!("1992-02-30"),
        json!(19920517),
    ] {
        refuses_value(basic(), Level::Basic, "birthdate", &bad, DATE_EXPECTED);
    }
}

#[test]
fn invalid_sex_value() {
    for bad in [
        json!(0),
        json!(3),
        json!(9),
        json!(-1),
        json!(2.0),
        json!("female"),
        json!("2"),
    ] {
        refuses_value(basic(), Level::Basic, "sex", &bad, SEX_EXPECTED);
    }
}

#[test]
fn invalid_country_values() {
    for bad in [json!("cn"), json!("CHN"), json!(""), json!(156)] {
        refuses_value(basic(), Level::Basic, "nationality", &bad, COUNTRY_EXPECTED);
        refuses_member(
            "address",
            "country",
            "address.country",
            &bad,
            COUNTRY_EXPECTED,
        );
    }
}

#[test]
fn invalid_id_number() {
    let cases = [
        (
            "11010519920517998",
            IdNumberError::WrongLength { length: 17 },
        ),
        (
            "110105199205179984",
            IdNumberError::CheckDigitMismatch {
                expected: '5',
                found: '4',
            },
        ),
        ("11010519921317998X", IdNumberError::InvalidBirthDate),
        ("11010519920517998x", IdNumberError::LowercaseCheckCharacter),
    ];
    for (bad, err) in cases {
        let v = with(basic(), |o| {
            o.insert("id_number".into(), json!(bad));
        });
        assert_eq!(
            check(&v, Level::Basic),
            Err(ClaimsError::InvalidIdNumber(err)),
            "{bad}"
        );
    }
    let v = with(basic(), |o| {
        o.insert("id_number".into(), json!(110105199205179985u64));
    });
    assert_eq!(
        check(&v, Level::Basic),
        Err(invalid("id_number", ID_NUMBER_EXPECTED))
    );
}

#[test]
fn birthdate_mismatch() {
    let v = with(basic(), |o| {
        o.insert("birthdate".into(), json!("1992-05-18"));
    });
    assert_eq!(check(&v, Level::Basic), Err(ClaimsError::BirthdateMismatch));
}

#[test]
fn sex_mismatch() {
    let v = with(basic(), |o| {
        o.insert("sex".into(), json!(1));
    });
    assert_eq!(check(&v, Level::Basic), Err(ClaimsError::SexMismatch));
    // A male number (sequence 997) with sex 1 is fine.
    let v = with(basic(), |o| {
        o.insert("sex".into(), json!(1));
        o.insert("id_number".into(), json!("110105199205179977"));
    });
    assert_eq!(check(&v, Level::Basic).unwrap().sex(), Sex::Male);
}

#[test]
fn invalid_object_claims() {
    for (name, bad) in [("address", json!("北京市")), ("id_card", json!([]))] {
        refuses_value(high(), Level::High, name, &bad, OBJECT_EXPECTED);
    }
}

#[test]
fn card_validity() {
    let v = with_member(high(), "id_card", "valid_until", json!("long-term"));
    let c = check(&v, Level::High).unwrap();
    let card = c.high().unwrap().id_card();
    assert_eq!(card.valid_until(), CardValidity::LongTerm);
    assert!(card.is_valid_on(date!(2100 - 01 - 01)));
    assert_eq!(c.to_value(), v);

    let c = check(&high(), Level::High).unwrap();
    let card = c.high().unwrap().id_card();
    assert!(card.is_valid_on(date!(2042 - 08 - 20)));
    assert!(!card.is_valid_on(date!(2042 - 08 - 21)));

    for bad in [
        json!("Long-Term"),
        json!("长期"),
        json!("2042-8-20"),
        json!(null),
    ] {
        refuses_member(
            "id_card",
            "valid_until",
            "id_card.valid_until",
            &bad,
            VALIDITY_EXPECTED,
        );
    }
}

#[test]
fn portrait_errors() {
    let v = with(high(), |o| {
        o.insert("portrait".into(), json!(42));
    });
    assert_eq!(
        check(&v, Level::High),
        Err(invalid("portrait", "a data url string"))
    );
    let v = with(high(), |o| {
        o.insert(
            "portrait".into(),
            json!("data:image/png;base64,iVBORw0KGgo="),
        );
    });
    assert!(matches!(
        check(&v, Level::High),
        Err(ClaimsError::InvalidClaimValue {
            name: "portrait",
            ..
        })
    ));
    let big = format!(
        "{}{}",
        Portrait::DATA_URL_PREFIX,
        "A".repeat(Portrait::MAX_DATA_URL_LEN)
    );
    let v = with(high(), |o| {
        o.insert("portrait".into(), json!(big));
    });
    assert!(matches!(
        check(&v, Level::High),
        Err(ClaimsError::PortraitTooLarge {
            max: Portrait::MAX_BYTES,
            ..
        })
    ));
    let v = with(high(), |o| {
        o.insert("portrait".into(), json!("data:image/jpeg;base64,AAAAAAAA"));
    });
    assert_eq!(check(&v, Level::High), Err(ClaimsError::PortraitNotJpeg));
}

#[test]
fn errors_carry_no_claim_values() {
    let bad_inputs = [
        with(basic(), |o| {
            o.insert("family_name".into(), json!(" 李"));
        }),
        with(basic(), |o| {
            o.insert("birthdate".into(), json!("1992-05-18"));
        }),
        with(basic(), |o| {
            o.insert("id_number".into(), json!("110105199205179984"));
        }),
        with(basic(), |o| {
            o.insert("sex".into(), json!(1));
        }),
    ];
    for v in bad_inputs {
        let err = check(&v, Level::Basic).unwrap_err();
        for text in [err.to_string(), format!("{err:?}")] {
            for secret in ["李", "1992", "110105", "9985", "9984"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
    }
}

#[test]
fn sex_codes() {
    assert_eq!(Sex::from_iso5218(1), Some(Sex::Male));
    assert_eq!(Sex::from_iso5218(2), Some(Sex::Female));
    assert_eq!(Sex::from_iso5218(0), None);
    assert_eq!(Sex::from_iso5218(9), None);
    assert_eq!(serde_json::to_value(Sex::Female).unwrap(), json!(2));
    assert_eq!(Sex::Male.iso5218(), 1);
}
