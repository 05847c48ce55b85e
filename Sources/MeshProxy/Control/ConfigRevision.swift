import Foundation
import MeshConfig

/// One configuration the proxy served: what it was made of and how it came to be applied.
public struct ConfigRevision: Sendable {
    public enum Origin: Sendable, Hashable, CustomStringConvertible {
        /// The files `serve -f` names, at start or after the watcher saw them change.
        case files
        /// Resources posted to `POST /config` (`meshsim apply`), merged into the running set.
        case api
        /// A copy of an earlier revision (`POST /config/rollback`, `meshsim rollback`).
        case rollback(to: Int)

        public var description: String {
            switch self {
            case .files: return "files"
            case .api: return "api"
            case .rollback(let revision): return "rollback to \(revision)"
            }
        }
    }

    /// The routing snapshot's revision (0 at start, one more per applied change).
    public let number: Int
    public let resources: MeshResources
    public let sources: [ConfigSource]
    public let appliedAt: Date
    public let origin: Origin
}

/// The last applied revisions, oldest first, at most `limit` of them; never empty.
struct RevisionHistory: Sendable {
    let limit: Int
    private(set) var revisions: [ConfigRevision]
    /// The last one appended.
    private(set) var current: ConfigRevision

    init(initial: ConfigRevision, limit: Int) {
        self.limit = max(1, limit)
        self.revisions = [initial]
        self.current = initial
    }

    mutating func append(_ revision: ConfigRevision) {
        revisions.append(revision)
        current = revision
        if revisions.count > limit { revisions.removeFirst(revisions.count - limit) }
    }

    func revision(_ number: Int) -> ConfigRevision? {
        revisions.last { $0.number == number }
    }

    /// The revision applied before the current one.
    var previous: ConfigRevision? {
        revisions.count >= 2 ? revisions[revisions.count - 2] : nil
    }
}

/// How the last attempt to change the configuration ended: what `/config_dump` shows as its
/// status and what `serve` logs.
public struct ReloadStatus: Sendable {
    public enum State: String, Sendable, Hashable {
        /// Applied as a new revision.
        case accepted = "ACCEPTED"
        /// Valid and identical to the running configuration: nothing to do.
        case unchanged = "UNCHANGED"
        /// Invalid; the running configuration stays.
        case rejected = "REJECTED"
    }

    public let state: State
    public let origin: ConfigRevision.Origin
    public let time: Date
    /// The revision serving once the attempt ended (the new one, or the one that stayed).
    public let revision: Int
    /// Load, validation and compile errors, each with file:line (empty unless rejected).
    public let errors: [ConfigDiagnostic]
    /// Warnings of an accepted or unchanged configuration.
    public let warnings: [ConfigDiagnostic]
}

/// What one apply, reload or rollback did.
public enum ApplyOutcome: Sendable {
    case applied(ConfigRevision)
    /// The configuration equals the running one; the revision is the running one.
    case unchanged(ConfigRevision)
    /// Nothing changed; `revision` is the one still serving.
    case rejected(errors: [ConfigDiagnostic], revision: Int)

    /// The revision serving after the attempt.
    public var revision: Int {
        switch self {
        case .applied(let r), .unchanged(let r): return r.number
        case .rejected(_, let revision): return revision
        }
    }

    public var errors: [ConfigDiagnostic] {
        if case .rejected(let errors, _) = self { return errors }
        return []
    }
}
