import CNGHTTP2

/// Whether a Host or `:authority` value is made of the characters RFC 3986 §3.2 allows in an
/// authority (unreserved, percent-encoded, sub-delims, ":", "@", "[", "]"): libnghttp2's
/// `nghttp2_check_authority`, the check Envoy's `HeaderUtility::authorityIsValid` uses to refuse a
/// request with 400 before routing (`http.invalid_authority`). Empty is valid here: a missing
/// Host is judged elsewhere.
public enum AuthorityValidation {
    public static func isValid(_ authority: String) -> Bool {
        // The borrowed bytes when the string has them contiguous (a native string always does).
        if let valid = authority.utf8.withContiguousStorageIfAvailable({ check($0) }) { return valid }
        var copy = authority
        return copy.withUTF8 { check($0) }
    }

    private static func check(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        return nghttp2_check_authority(base, bytes.count) != 0
    }
}
