import Foundation
import NIOConcurrencyHelpers

/// Where demo events go: rendered as text, or as JSON lines (`--output json`), handed to `write`.
/// Events may come from several tasks; they are rendered one at a time.
public final class DemoConsole: Sendable {
    public enum Format: Sendable, Hashable {
        /// `terminal`: colour and a redrawn progress line.
        case text(terminal: Bool)
        case json
    }

    private let format: Format
    private let renderer: NIOLockedValueBox<DemoTextRenderer>
    private let write: @Sendable (String) -> Void

    public init(format: Format, write: @escaping @Sendable (String) -> Void) {
        self.format = format
        if case .text(let terminal) = format {
            renderer = NIOLockedValueBox(DemoTextRenderer(terminal: terminal))
        } else {
            renderer = NIOLockedValueBox(DemoTextRenderer(terminal: false))
        }
        self.write = write
    }

    public func show(_ event: DemoEvent) {
        switch format {
        case .json:
            if let line = Self.jsonLine(for: event) { write(line + "\n") }
        case .text:
            renderer.withLockedValue { renderer in
                if let text = renderer.render(event) { write(text) }
            }
        }
    }

    /// One line of `--output json`: the plan, step, rollback and summary rows; nil for progress.
    public static func jsonLine(for event: DemoEvent) -> String? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data?
        switch event {
        case .plan(let row): data = try? encoder.encode(row)
        case .step(let row): data = try? encoder.encode(row)
        case .rollback(let row): data = try? encoder.encode(row)
        case .summary(let row): data = try? encoder.encode(row)
        case .holdStarted, .progress: data = nil
        }
        return data.map { String(decoding: $0, as: UTF8.self) }
    }
}
