import MeshConfig

/// A route table's match conditions laid out flat, in plain values (indices into shared pools,
/// no references), so that trying rule after rule on the hot path costs no reference counting.
/// Built from the rules' `MatchBlock`s; evaluation follows the same order and semantics as the
/// blocks describe.
///
/// The pools are buffers the program allocates once and frees in `deinit`: reading them is a
/// plain load, where reading an array held by a class retains and releases its storage.
/// Sendable because nothing is written after `init`.
final class MatchProgram: @unchecked Sendable {
    struct Rule: Sendable {
        var firstBlock: Int32
        /// 0: the rule has no `match` and takes every request.
        var blockCount: Int32
    }
    struct Block: Sendable {
        var firstCondition: Int32
        var conditionCount: Int32
    }
    enum Subject: UInt8, Sendable {
        case path, method, authority, scheme, header, query
    }
    enum Operation: UInt8, Sendable {
        case exact, exactIgnoringCase, prefix, prefixIgnoringCase, regex, present
    }
    struct Condition: Sendable {
        var subject: Subject
        var operation: Operation
        var inverted: Bool
        /// Header slot.
        var slot: Int32
        /// In `bytes`: the literal of exact/prefix, or a regex's literal prefix.
        var valueOffset: Int32
        var valueLength: Int32
        /// In `bytes`: a query parameter's name.
        var nameOffset: Int32
        var nameLength: Int32
        /// In `regexes`, or -1.
        var regex: Int32
    }

    private let rules: UnsafeMutableBufferPointer<Rule>
    private let blocks: UnsafeMutableBufferPointer<Block>
    private let conditions: UnsafeMutableBufferPointer<Condition>
    private let bytes: UnsafeMutableBufferPointer<UInt8>
    private let regexes: [RE2Regex]

    init(_ compiledRules: [CompiledRule]) {
        var builder = Builder()
        for rule in compiledRules {
            builder.rules.append(Rule(firstBlock: Int32(builder.blocks.count), blockCount: Int32(rule.blocks.count)))
            for block in rule.blocks {
                builder.blocks.append(Block(firstCondition: Int32(builder.conditions.count), conditionCount: Int32(block.conditions.count)))
                for condition in block.conditions { builder.conditions.append(builder.lower(condition)) }
            }
        }
        rules = MatchProgram.copy(builder.rules)
        blocks = MatchProgram.copy(builder.blocks)
        conditions = MatchProgram.copy(builder.conditions)
        bytes = MatchProgram.copy(builder.bytes)
        regexes = builder.regexes
    }

    deinit {
        rules.deallocate()
        blocks.deallocate()
        conditions.deallocate()
        bytes.deallocate()
    }

    private static func copy<T>(_ values: [T]) -> UnsafeMutableBufferPointer<T> {
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(1, values.count))
        _ = buffer.initialize(from: values)
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<values.count])
    }

    var ruleCount: Int { rules.count }

    /// Whether the first rule has no `match`, so that it takes every request (a service's
    /// default route, a VirtualService whose only rule just routes): routing then reads nothing
    /// of the request but its authority.
    var firstRuleTakesEveryRequest: Bool { rules.count > 0 && rules[0].blockCount == 0 }
}

/// Accumulates a program's pools while lowering conditions.
private struct Builder {
    var rules: [MatchProgram.Rule] = []
    var blocks: [MatchProgram.Block] = []
    var conditions: [MatchProgram.Condition] = []
    var bytes: [UInt8] = []
    var regexes: [RE2Regex] = []

    typealias Condition = MatchProgram.Condition

    private mutating func store(_ value: [UInt8]) -> (Int32, Int32) {
        let offset = Int32(bytes.count)
        bytes += value
        return (offset, Int32(value.count))
    }

    mutating func lower(_ condition: MatchCondition) -> Condition {
        var out = Condition(
            subject: .path, operation: .present, inverted: condition.inverted, slot: 0, valueOffset: 0, valueLength: 0, nameOffset: 0,
            nameLength: 0, regex: -1)
        switch condition.subject {
        case .path: out.subject = .path
        case .method: out.subject = .method
        case .authority: out.subject = .authority
        case .scheme: out.subject = .scheme
        case .header(_, let slot):
            out.subject = .header
            out.slot = Int32(slot)
        case .query(let name):
            out.subject = .query
            (out.nameOffset, out.nameLength) = store(Array(name.utf8))
        }
        switch condition.matcher {
        case .exact(let value, let ignoringCase):
            out.operation = ignoringCase ? .exactIgnoringCase : .exact
            (out.valueOffset, out.valueLength) = store(value)
        case .prefix(let value, let ignoringCase):
            out.operation = ignoringCase ? .prefixIgnoringCase : .prefix
            (out.valueOffset, out.valueLength) = store(value)
        case .regex(let regex, let prefix):
            out.operation = .regex
            (out.valueOffset, out.valueLength) = store(prefix)
            out.regex = Int32(regexes.count)
            regexes.append(regex)
        case .present:
            out.operation = .present
        }
        return out
    }
}

extension MatchProgram {
    /// The first rule with a block whose conditions all hold, and that block (-1 for a rule
    /// without `match`), trying rules from `start`.
    @inline(__always)
    func firstMatch(_ request: RequestView, from start: Int = 0) -> (rule: Int, block: Int)? {
        let pool = UnsafeBufferPointer(bytes)
        var r = start
        while r < rules.count {
            let rule = rules[r]
            if rule.blockCount == 0 { return (r, -1) }
            for b in Int(rule.firstBlock)..<Int(rule.firstBlock + rule.blockCount) {
                let block = blocks[b]
                var holds = true
                var c = Int(block.firstCondition)
                let end = c + Int(block.conditionCount)
                while holds && c < end {
                    holds = evaluate(conditions[c], request, pool)
                    c += 1
                }
                if holds { return (r, b - Int(rule.firstBlock)) }
            }
            r += 1
        }
        return nil
    }

    /// Whether condition `index` of block `block` of rule `rule` holds (for explanations).
    func conditionHolds(rule: Int, block: Int, condition index: Int, _ request: RequestView) -> Bool {
        let b = blocks[Int(rules[rule].firstBlock) + block]
        return evaluate(conditions[Int(b.firstCondition) + index], request, UnsafeBufferPointer(bytes))
    }

    @inline(__always)
    private func evaluate(_ condition: Condition, _ request: RequestView, _ pool: UnsafeBufferPointer<UInt8>) -> Bool {
        switch condition.subject {
        case .path: return test(condition, request.path, pool)
        case .method: return test(condition, request.method, pool)
        case .authority: return test(condition, request.authority, pool)
        case .scheme: return test(condition, request.scheme, pool)
        case .header:
            guard let value = request.header(Int(condition.slot)) else {
                if condition.operation == .present { return condition.inverted }
                // withoutHeaders treats a missing header as empty (Envoy's treat_missing_header_as_empty).
                if condition.inverted { return test(condition, UnsafeBufferPointer(start: nil, count: 0), pool) != condition.inverted }
                return false
            }
            return test(condition, value, pool) != condition.inverted
        case .query:
            let name = pool.slice(Int(condition.nameOffset)..<Int(condition.nameOffset + condition.nameLength))
            guard let range = QueryParameters.firstValue(named: name, in: request.query) else { return false }
            return test(condition, request.query.slice(range), pool)
        }
    }

    @inline(__always)
    private func test(_ condition: Condition, _ value: UnsafeBufferPointer<UInt8>, _ pool: UnsafeBufferPointer<UInt8>) -> Bool {
        let literal = pool.slice(Int(condition.valueOffset)..<Int(condition.valueOffset + condition.valueLength))
        switch condition.operation {
        case .exact: return value.count == literal.count && value.hasPrefix(literal)
        case .exactIgnoringCase: return value.count == literal.count && value.hasPrefix(literal, ignoringCase: true)
        case .prefix: return value.hasPrefix(literal)
        case .prefixIgnoringCase: return value.hasPrefix(literal, ignoringCase: true)
        case .regex: return value.hasPrefix(literal) && regexes[Int(condition.regex)].fullMatch(UnsafeRawBufferPointer(value))
        case .present: return true
        }
    }
}
