// The safetensors reader's fuzz target: a model file (`--init-from`) read
// exactly as csgd reads one from disk. The input is the whole file; it is
// put in an anonymous in-memory file (created in /dev/shm and unlinked) and
// opened through /proc/self/fd/N, so `SafeTensorsFile(path:)` runs its own open, fstat and
// pread code on it. For every input:
//   • opening throws nothing but a `CSGDError` naming the file;
// and when it succeeds:
//   • every tensor reads back with exactly its dtype's size × its shape's
//     elements bytes, and the tensors' bytes add up to the file's data;
//   • writing what was read with `SafeTensors.encode` (the tensors in data
//     order, the metadata) gives a file that reads back to the same header:
//     the same tensors, shapes, dtypes, byte ranges and metadata, and the
//     same bytes in every tensor (so the writer can express whatever the
//     reader accepts).
// Memory is bounded by the input: the header is allocated only once its
// length is known to fit in the file, each tensor once its range is.

import Checkpointing
import CSGDCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

enum SafeTensorsTarget {
    static let name = "safetensors"

    /// A path to an anonymous in-memory file holding `bytes` (and its
    /// descriptor, to close): a file in /dev/shm, unlinked at once and
    /// reached through /proc/self/fd/N.
    static func memoryFile(_ bytes: UnsafeRawBufferPointer) -> (path: String, fd: Int32) {
        let scratch = "/dev/shm/csgd-fuzz-\(name)-\(getpid())"
        let fd = open(scratch, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { fatalError("\(name): cannot create \(scratch): \(String(cString: strerror(errno)))") }
        unlink(scratch)
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            guard n > 0 else { fatalError("\(name): writing the in-memory file failed: \(String(cString: strerror(errno)))") }
            done += n
        }
        return ("/proc/self/fd/\(fd)", fd)
    }

    static func read(_ bytes: UnsafeRawBufferPointer) -> (SafeTensorsFile?, Int32, Error?) {
        let (path, fd) = memoryFile(bytes)
        do { return (try SafeTensorsFile(path: path), fd, nil) } catch { return (nil, fd, error) }
    }

    static func target() -> FuzzTarget {
        FuzzTarget(name: name, run: { bytes in
            let (opened, fd, error) = read(bytes)
            defer { close(fd) }
            guard let file = opened else {
                let path = "/proc/self/fd/\(fd)"
                guard let e = error as? CSGDError else { failInput(name, "threw \(type(of: error!)), not a CSGDError: \(error!)", bytes) }
                if !e.message.contains("'\(path)'") { failInput(name, "an error that does not name the file: \(e.message)", bytes) }
                return
            }
            let h = file.header
            var tensors: [SafeTensors.Tensor] = []
            var total = 0
            for n in h.namesInDataOrder {
                let e = h.entries[n]!
                let b: [UInt8]
                do { b = try file.bytes(of: n) } catch { failInput(name, "tensor '\(n)' of an accepted file does not read: \(error)", bytes) }
                if b.count != e.count * SafeTensors.dtypeSizes[e.dtype]! { failInput(name, "tensor '\(n)' reads \(b.count) bytes", bytes) }
                total += b.count
                tensors.append(SafeTensors.Tensor(name: n, dtype: e.dtype, shape: e.shape, bytes: b))
            }
            if total != h.dataLength { failInput(name, "the tensors hold \(total) bytes of \(h.dataLength)", bytes) }
            let written: [UInt8]
            do { written = try SafeTensors.encode(tensors, metadata: h.metadata) } catch {
                failInput(name, "what was read does not write: \(error)", bytes)
            }
            let (again, fd2, error2) = written.withUnsafeBytes { read($0) }
            defer { close(fd2) }
            guard let back = again else { failInput(name, "what was read writes a file that does not read: \(error2!)", bytes) }
            if back.header != h { failInput(name, "what was read writes a file with another header: \(back.header), not \(h)", bytes) }
            for t in tensors where (try? back.bytes(of: t.name)) != t.bytes {
                failInput(name, "tensor '\(t.name)' reads back other bytes", bytes)
            }
        }, seeds: {
            func file(_ tensors: [SafeTensors.Tensor], _ metadata: [String: String]) -> [UInt8] {
                (try? SafeTensors.encode(tensors, metadata: metadata)) ?? []
            }
            let w: [Float] = [0.5, -1, 2, 0.25, 3, -0.125]
            return [
                file([], [:]),
                file(w.withUnsafeBufferPointer { [SafeTensors.Tensor(name: "x", shape: [6], floats: $0)] }, ["params_sha256": "0"]),
                file(w.withUnsafeBufferPointer { [SafeTensors.Tensor(name: "0.weight", shape: [2, 2], floats: UnsafeBufferPointer(rebasing: $0[0..<4])),
                                                  SafeTensors.Tensor(name: "0.bias", shape: [2], floats: UnsafeBufferPointer(rebasing: $0[4...]))] }
                     + [SafeTensors.Tensor(name: "1.num_batches_tracked", shape: [], int64s: [3])],
                     ["format": "pt", "model": "mlp:2-2"]),
            ]
        })
    }
}
