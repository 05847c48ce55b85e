/// Whether a Host or `:authority` value is made of the characters RFC 3986 §3.2 allows in an
/// authority (unreserved, "%", sub-delims, ":", "@", "[", "]"): what libnghttp2's
/// `nghttp2_check_authority` accepts, the check Envoy's `HeaderUtility::authorityIsValid` uses to
/// refuse a request with 400 before routing (`http.invalid_authority`). In Swift over the
/// borrowed bytes (a call into C needed a copy of the string, a retain per request); a test
/// compares it with libnghttp2 byte by byte. Empty is valid here: a missing Host is judged
/// elsewhere.
public enum AuthorityValidation {
    public static func isValid(_ authority: String) -> Bool {
        // Native strings are contiguous UTF-8: one pass over the bytes with two mask tests each
        // (the generic `allSatisfy` over the UTF-8 view decoded index by index).
        if let valid = authority.utf8.withContiguousStorageIfAvailable({ bytes in
            bytes.allSatisfy { byte in
                byte < 64 ? (allowedBelow64 >> UInt64(byte)) & 1 == 1
                    : byte < 128 && (allowedFrom64 >> UInt64(byte - 64)) & 1 == 1
            }
        }) {
            return valid
        }
        return authority.utf8.allSatisfy(isAllowed)
    }

    /// `isAllowed` as two bit sets, bytes 0–63 and 64–127 (nothing above 127 is allowed).
    /// Literals, not stored `static let`s: each read of a lazily initialized global went through
    /// `swift_once`, once per byte of every authority (19 calls per request in a profile). The
    /// parity test checks every byte against libnghttp2 through `isValid`.
    static var allowedBelow64: UInt64 { 0x2FFF_7FF2_0000_0000 }
    static var allowedFrom64: UInt64 { 0x47FF_FFFE_AFFF_FFFF }

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
