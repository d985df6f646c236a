import Communication
import Distributed
import Foundation
import XCTest

/// Runs `body(rank, communicator)` on W threads joined by one in-process
/// fabric and returns the results by rank. A rank that throws aborts the
/// others (so none waits forever in a collective) and its error is rethrown.
func onRanks<T>(_ w: Int, timeout: Double = 30, file: StaticString = #filePath, line: UInt = #line,
                _ body: @escaping @Sendable (Int, InProcessCommunicator) throws -> T) throws -> [T] {
    let fabric = InProcessFabric(size: w)
    let results = RankResults<T>()
    let errors = ErrorBox()
    let done = DispatchGroup()
    for r in 0..<w {
        done.enter()
        Thread {
            defer { done.leave() }
            let comm = InProcessCommunicator(fabric: fabric, rank: r)
            do { results.set(r, try body(r, comm)) } catch { errors.set(error); comm.abort(reason: "\(error)") }
        }.start()
    }
    XCTAssertEqual(done.wait(timeout: .now() + timeout), .success, "ranks did not finish", file: file, line: line)
    if let e = errors.error { throw e }
    return try (0..<w).map { r in try XCTUnwrap(results.get(r), "rank \(r) returned nothing", file: file, line: line) }
}

/// Results by rank, written from the rank threads.
final class RankResults<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var byRank: [Int: T] = [:]
    func set(_ r: Int, _ value: T) { lock.lock(); byRank[r] = value; lock.unlock() }
    func get(_ r: Int) -> T? { lock.lock(); defer { lock.unlock() }; return byRank[r] }
}
