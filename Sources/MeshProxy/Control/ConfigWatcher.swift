import Foundation
import NIOConcurrencyHelpers

/// Watches `serve -f` paths (files, and directories recursively) by polling their content: a
/// hash of every file's bytes every `interval`, which works the same on every platform and
/// editor (atomic renames, in-place writes, new files in a directory). A change is applied once
/// the files hold still for `settle` (an editor or `git checkout` writing several files is seen
/// as one change); a rejected version is not retried until the files change again.
public final class ConfigWatcher: Sendable {
    private let task: NIOLockedValueBox<Task<Void, Never>?>

    private init(task: Task<Void, Never>) {
        self.task = NIOLockedValueBox(task)
    }

    /// Starts polling. `baseline` is the fingerprint of the files the controller serves
    /// (`ConfigFileSet.fingerprint`), so that only later changes count; by default, the files as
    /// they are now.
    public static func start(
        paths: [String], controller: ConfigController, baseline: Int? = nil, interval: Duration = .seconds(1), settle: Duration? = nil
    ) -> ConfigWatcher {
        let settle = settle ?? min(interval, .milliseconds(250))
        let baseline = baseline ?? ConfigFileSet.fingerprint(paths: paths)
        let task = Task.detached {
            var seen = baseline
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { return }
                var now = ConfigFileSet.fingerprint(paths: paths)
                guard now != seen else { continue }
                // Wait until the files hold still (bounded: a file rewritten forever is taken as is).
                for _ in 0..<20 {
                    try? await Task.sleep(for: settle)
                    let later = ConfigFileSet.fingerprint(paths: paths)
                    if later == now { break }
                    now = later
                }
                if Task.isCancelled { return }
                let files = ConfigFileSet.read(paths: paths, namespace: controller.namespace)
                seen = files.fingerprint
                _ = await controller.reload(files)
            }
        }
        return ConfigWatcher(task: task)
    }

    /// Stops polling; a reload already under way completes.
    public func stop() {
        task.withLockedValue { $0?.cancel() }
    }
}
