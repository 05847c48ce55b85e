/// Whether a Host or `:authority` value is made of the characters RFC 3986 §3.2 allows in an
/// authority (unreserved, "%", sub-delims, ":", "@", "[", "]"): what libnghttp2's
/// `nghttp2_check_authority` accepts, the check Envoy's `HeaderUtility::authorityIsValid` uses to
/// refuse a request with 400 before routing (`http.invalid_authority`). In Swift over the
/// borrowed bytes (a call into C needed a copy of the string, a retain per request); a test
/// compares it with libnghttp2 byte by byte. Empty is valid here: a missing Host is judged
/// elsewhere.
public enum AuthorityValidation {
    public static func isValid(_ authority: String) -> Bool {
        authority.utf8.allSatisfy(isAllowed)
    }

    @inlinable
    static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"),
             UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="),
             UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "["), UInt8(ascii: "]"):
            return true
        default:
            return false
        }
    }
}
