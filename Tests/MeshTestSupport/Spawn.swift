import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What `posix_spawnp` needs, and the parent's ends of the child's pipes afterwards.
///
/// Every descriptor made here is close-on-exec from birth (`pipe2(O_CLOEXEC)`), so a child
/// spawned by another test at the same moment never inherits it: an inherited write end would
/// keep that pipe open and its reader would never see end of file. The child gets its ends
/// through `posix_spawn_file_actions_adddup2`, which clears close-on-exec on 0, 1 and 2 only.
struct SpawnedChild {
    let pid: pid_t
    /// The write end of the child's standard input, when it is a pipe.
    let standardInput: Int32?
    let standardOutput: Int32?
    let standardError: Int32?
}

enum Spawner {
    static func spawn(
        executable: String, arguments: [String], environment: [String: String]?, workingDirectory: String?,
        input: ChildProcess.Input, output: ChildProcess.Output, error: ChildProcess.ErrorOutput
    ) throws -> SpawnedChild {
        // Descriptors the parent closes after the spawn (the child's ends), and on failure also these.
        var childEnds: [Int32] = []
        var parentEnds: [Int32] = []
        defer { childEnds.forEach { close($0) } }
        do {
            let null = try openDevNull()
            childEnds.append(null)

            var stdinWrite: Int32? = nil
            let childStdin: Int32
            switch input {
            case .null:
                childStdin = null
            case .bytes, .openPipe:
                let (read, write) = try makePipe()
                childEnds.append(read)
                parentEnds.append(write)
                childStdin = read
                stdinWrite = write
            }

            var stdoutRead: Int32? = nil
            let childStdout: Int32
            switch output {
            case .capture:
                let (read, write) = try makePipe()
                childEnds.append(write)
                parentEnds.append(read)
                childStdout = write
                stdoutRead = read
            case .discard:
                childStdout = null
            }

            var stderrRead: Int32? = nil
            let childStderr: Int32
            switch error {
            case .capture:
                let (read, write) = try makePipe()
                childEnds.append(write)
                parentEnds.append(read)
                childStderr = write
                stderrRead = read
            case .discard:
                childStderr = null
            case .mergedIntoOutput:
                childStderr = childStdout
            }

            let pid = try posixSpawn(
                executable: executable, arguments: arguments, environment: environment,
                workingDirectory: workingDirectory, stdio: (childStdin, childStdout, childStderr))
            return SpawnedChild(pid: pid, standardInput: stdinWrite, standardOutput: stdoutRead, standardError: stderrRead)
        } catch {
            parentEnds.forEach { close($0) }
            throw error
        }
    }

    /// Close-on-exec atomically with creation: `pipe` then `fcntl` would leave a moment in
    /// which another thread's spawn inherits the pipe.
    private static func makePipe() throws -> (read: Int32, write: Int32) {
        guard let pipe2 = GNUExtensions.pipe2 else {
            throw ChildProcessError.unsupported("pipe2 is missing from this libc")
        }
        var fds: [Int32] = [-1, -1]
        guard pipe2(&fds, O_CLOEXEC) == 0 else { throw ChildProcessError.system("pipe2", errno) }
        return (fds[0], fds[1])
    }

    private static func openDevNull() throws -> Int32 {
        let fd = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw ChildProcessError.system("open /dev/null", errno) }
        return fd
    }

    private static func posixSpawn(
        executable: String, arguments: [String], environment: [String: String]?, workingDirectory: String?,
        stdio: (Int32, Int32, Int32)
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        try check(posix_spawn_file_actions_adddup2(&actions, stdio.0, 0), "adddup2")
        try check(posix_spawn_file_actions_adddup2(&actions, stdio.1, 1), "adddup2")
        try check(posix_spawn_file_actions_adddup2(&actions, stdio.2, 2), "adddup2")
        // Belt and braces for descriptors other code opened without close-on-exec (a listening
        // socket inherited by curl would keep its port accepting after the server closed it).
        if let closeFrom = GNUExtensions.addCloseFrom {
            try check(closeFrom(&actions, 3), "addclosefrom_np")
        }
        if let workingDirectory {
            guard let addChdir = GNUExtensions.addChdir else {
                throw ChildProcessError.unsupported("posix_spawn_file_actions_addchdir_np is missing from this libc")
            }
            try check(workingDirectory.withCString { addChdir(&actions, $0) }, "addchdir_np")
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with every signal at its default and none blocked, whatever this test
        // process ignores or blocks (an ignored SIGPIPE would otherwise be inherited across exec),
        // in a process group of its own so that a deadline kill reaches its children too.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        try check(posix_spawnattr_setsigmask(&attributes, &noSignals), "setsigmask")
        try check(posix_spawnattr_setsigdefault(&attributes, &allSignals), "setsigdefault")
        try check(posix_spawnattr_setpgroup(&attributes, 0), "setpgroup")
        let flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP
        try check(posix_spawnattr_setflags(&attributes, Int16(flags)), "setflags")

        let argv = CStringArray([executable] + arguments)
        defer { argv.free() }
        let envp = environment.map { CStringArray($0.map { "\($0.key)=\($0.value)" }) }
        defer { envp?.free() }

        var pid: pid_t = 0
        // posix_spawnp searches PATH (this process's) as execvp and /usr/bin/env do.
        let result = posix_spawnp(&pid, executable, &actions, &attributes, argv.pointers, envp?.pointers ?? environ)
        guard result == 0 else {
            throw ChildProcessError.cannotStart(executable, String(cString: strerror(result)))
        }
        return pid
    }

    private static func check(_ result: Int32, _ call: String) throws {
        if result != 0 { throw ChildProcessError.system("posix_spawn \(call)", result) }
    }
}

/// glibc functions declared only under `_GNU_SOURCE`, which Swift's Glibc module does not
/// define; looked up at run time instead.
private enum GNUExtensions {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    static let pipe2: Pipe2? = symbol("pipe2")
    static let addChdir: AddChdir? = symbol("posix_spawn_file_actions_addchdir_np")  // glibc 2.29
    static let addCloseFrom: AddCloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np")  // glibc 2.34

    private static func symbol<F>(_ name: String) -> F? {
        // A null handle is RTLD_DEFAULT: the global symbol scope.
        guard let address = dlsym(nil, name) else { return nil }
        return unsafeBitCast(address, to: F.self)
    }
}

/// A NULL-terminated array of C strings owned until `free()`.
private struct CStringArray {
    let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>

    init(_ strings: [String]) {
        pointers = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() { pointers[index] = strdup(string) }
        pointers[strings.count] = nil
    }

    func free() {
        var index = 0
        while let string = pointers[index] {
            Glibc.free(string)
            index += 1
        }
        pointers.deallocate()
    }
}
