//! `rate_limit:`: defaults, what a valid table turns into, located errors.

use super::{check, load, with_head};
use crate::policy::RateLimitConfig;

#[test]
fn rate_limiting_is_on_by_default() {
    let policy = load(&with_head(&[]));
    assert_eq!(policy.rate_limit, RateLimitConfig::default());
    assert!(policy.rate_limit.responses_per_second > 0);
    assert_eq!(policy.rate_limit.slip, 2);
}

#[test]
fn a_rate_limit_table_is_read() {
    let policy = load(&with_head(&[
        "rate_limit:",
        "  responses_per_second: 20",
        "  slip: 3",
        "  ipv4_prefix: 32",
        "  ipv6_prefix: 64",
        "  exempt: [127.0.0.0/8, \"::1\", 2001:db8::/32]",
    ]));
    let limits = &policy.rate_limit;
    assert_eq!(
        (
            limits.responses_per_second,
            limits.slip,
            limits.ipv4_prefix,
            limits.ipv6_prefix
        ),
        (20, 3, 32, 64)
    );
    let exempt: Vec<String> = limits.exempt.iter().map(ToString::to_string).collect();
    assert_eq!(exempt, ["127.0.0.0/8", "::1/128", "2001:db8::/32"]);
    assert!(limits.exempt[0].contains("127.1.2.3".parse().expect("ip")));
    let off = load(&with_head(&["rate_limit: { responses_per_second: 0 }"]));
    assert_eq!(off.rate_limit.responses_per_second, 0);
}

#[test]
fn rate_limit_problems_are_located() {
    check(
        &with_head(&["rate_limit: { responses_per_second: 20000, slip: -1, ipv4_prefix: 4 }"]),
        &[
            "3:37 responses_per_second: 20000 is out of range; expected 0 to 10000",
            "3:50 slip: \"-1\" is not a whole number",
            "3:67 ipv4_prefix: 4 is out of range; expected 8 to 32",
        ],
    );
    check(
        &with_head(&[
            "rate_limit:",
            "  exempt: [10.1.2.3/16, nope, 10.0.0.0/8, 10.0.0.0/8]",
        ]),
        &[
            "4:12 exempt: 10.1.2.3/16 has bits set past its prefix; write 10.1.0.0/16",
            "4:25 exempt: \"nope\" is not an IPv4 or IPv6 address",
            "4:43 10.0.0.0/8 is listed twice",
        ],
    );
    check(
        &with_head(&["rate_limit: { rate: 5 }"]),
        &["3:15 unknown key \"rate\" in rate_limit; expected one of responses_per_second, slip"],
    );
}
