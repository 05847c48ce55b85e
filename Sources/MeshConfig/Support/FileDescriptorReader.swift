import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads pipes and files without Foundation's `FileHandle.readDataToEndOfFile()` and
/// `availableData`, which trap (`try!` inside Foundation) when a signal interrupts the read
/// (EINTR) — something a process that starts children (SIGCHLD) sees routinely.
public enum FileDescriptorReader {
    /// Everything until end of file; interrupted reads are retried, a read error ends it.
    public static func readToEnd(_ handle: FileHandle) -> Data {
        var data = Data()
        while true {
            let chunk = readAvailable(handle)
            if chunk.isEmpty { return data }
            data.append(chunk)
        }
    }

    /// One read of what is there now (blocking until something is); empty at end of file or on
    /// an error other than EINTR.
    public static func readAvailable(_ handle: FileHandle) -> Data {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
            if count >= 0 { return Data(buffer[0..<count]) }
            if errno != EINTR { return Data() }
        }
    }
}
