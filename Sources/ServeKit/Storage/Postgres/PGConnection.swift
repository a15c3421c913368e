import CLibPQ
import Foundation

/// A failure reported by PostgreSQL or libpq.
struct PGError: Error, CustomStringConvertible {
    let message: String
    /// SQLSTATE, when the server sent one (e.g. 23505 for a unique violation).
    let sqlState: String?
    var description: String { "PostgreSQL: \(message)" + (sqlState.map { " (SQLSTATE \($0))" } ?? "") }
}

/// The text rows of a query result.
struct PGRows {
    let rows: [PGRow]
}

/// One blocking libpq connection. Not thread-safe: a ``PGPool`` hands it to one caller at a time,
/// and every call runs on a thread-pool thread, never on an event loop.
final class PGConnection: @unchecked Sendable {
    let conn: OpaquePointer

    init(url: String) throws {
        guard let c = PQconnectdb(url) else { throw PGError(message: "out of memory", sqlState: nil) }
        guard PQstatus(c) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(c)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(c)
            throw PGError(message: "cannot connect: \(message)", sqlState: nil)
        }
        conn = c
    }

    deinit { PQfinish(conn) }

    var isHealthy: Bool { PQstatus(conn) == CONNECTION_OK }

    /// Runs a statement with text parameters ($1, $2, …); nil is SQL NULL. A statement with
    /// parameters is prepared on this connection the first time it runs and executed as prepared
    /// after that: PostgreSQL parses and plans it once instead of at every batch.
    @discardableResult
    func query(_ sql: String, _ params: [String?] = []) throws -> PGRows {
        let name = params.isEmpty ? nil : try preparedName(sql)
        let cParams = params.map { $0.flatMap { strdup($0) } }
        defer { cParams.forEach { free($0) } }
        let result = cParams.withUnsafeBufferPointer { buf -> OpaquePointer? in
            buf.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(buf.count, 1)) { p in
                if let name { return PQexecPrepared(conn, name, Int32(params.count), p, nil, nil, 0) }
                return PQexecParams(conn, sql, Int32(params.count), nil, params.isEmpty ? nil : p, nil, nil, 0)
            }
        }
        do {
            return try rows(result)
        } catch let e as PGError where name != nil && e.sqlState == "0A000" {
            // "cached plan must not change result type": a table changed under a prepared
            // `SELECT *` (another server migrated); prepared anew at the next call.
            prepared[sql] = nil
            throw e
        }
    }

    /// Prepared statements of this connection by SQL text (at most ``maxPrepared``; beyond,
    /// statements run unprepared).
    private var prepared: [String: String] = [:]
    private var preparedCount = 0
    static let maxPrepared = 256

    private func preparedName(_ sql: String) throws -> String? {
        if let name = prepared[sql] { return name }
        guard prepared.count < Self.maxPrepared else { return nil }
        preparedCount += 1
        let name = "vertac_\(preparedCount)"
        _ = try rows(PQprepare(conn, name, sql, 0, nil))
        prepared[sql] = name
        return name
    }

    private func rows(_ result: OpaquePointer?) throws -> PGRows {
        guard let result else { throw PGError(message: String(cString: PQerrorMessage(conn)), sqlState: nil) }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            throw PGError(message: String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines),
                          sqlState: state)
        }
        let n = Int(PQntuples(result)), m = Int(PQnfields(result))
        var index: [String: Int] = [:]
        for c in 0..<m where index[String(cString: PQfname(result, Int32(c)))] == nil { index[String(cString: PQfname(result, Int32(c)))] = c }
        let rows = (0..<n).map { r in
            PGRow(index: index, values: (0..<m).map { c -> String? in
                PQgetisnull(result, Int32(r), Int32(c)) == 1 ? nil : String(cString: PQgetvalue(result, Int32(r), Int32(c)))
            })
        }
        return PGRows(rows: rows)
    }

    /// `COPY … FROM STDIN` with rows already in COPY text format (tab-separated, `\N` for NULL).
    func copy(_ sql: String, lines: String) throws {
        guard let start = PQexec(conn, sql) else { throw PGError(message: String(cString: PQerrorMessage(conn)), sqlState: nil) }
        let status = PQresultStatus(start)
        PQclear(start)
        guard status == PGRES_COPY_IN else { throw PGError(message: "COPY did not start: \(String(cString: PQerrorMessage(conn)))", sqlState: nil) }
        var bytes = Array(lines.utf8)
        let sent = bytes.withUnsafeMutableBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { PQputCopyData(conn, $0, Int32(b.count)) }
        }
        guard sent == 1, PQputCopyEnd(conn, nil) == 1 else { throw PGError(message: String(cString: PQerrorMessage(conn)), sqlState: nil) }
        var failure: Error?
        while let r = PQgetResult(conn) {
            if PQresultStatus(r) != PGRES_COMMAND_OK, failure == nil {
                let state = PQresultErrorField(r, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
                failure = PGError(message: String(cString: PQresultErrorMessage(r)).trimmingCharacters(in: .whitespacesAndNewlines), sqlState: state)
            }
            PQclear(r)
        }
        if let failure { throw failure }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try query("BEGIN")
        do {
            let value = try body()
            try query("COMMIT")
            return value
        } catch {
            _ = try? query("ROLLBACK")
            throw error
        }
    }
}

/// A small pool of connections whose blocking calls run on NIO's thread pool.
actor PGPool {
    private let url: String
    private let size: Int
    private var idle: [PGConnection] = []
    private var open = 0
    private var waiters: [CheckedContinuation<PGConnection, Error>] = []
    private let prepare: @Sendable (PGConnection) throws -> Void

    /// - Parameter prepare: run on every new connection (e.g. to set the search path).
    init(url: String, size: Int, prepare: @escaping @Sendable (PGConnection) throws -> Void = { _ in }) {
        self.url = url
        self.size = size
        self.prepare = prepare
    }

    /// A connection outside the pool, set up as pooled ones are, for a caller that keeps it for
    /// itself (LISTEN, ``ClusterBus``). Blocking: call it on a thread of its own.
    nonisolated func dedicatedConnection() throws -> PGConnection {
        let c = try PGConnection(url: url)
        try prepare(c)
        return c
    }

    private func acquire() async throws -> PGConnection {
        if let c = idle.popLast() { return c }
        if open < size {
            open += 1
            do {
                let (url, prepare) = (self.url, self.prepare)
                return try await NIOThreadPoolRunner.run {
                    let c = try PGConnection(url: url)
                    try prepare(c)
                    return c
                }
            } catch {
                open -= 1
                throw error
            }
        }
        return try await withCheckedThrowingContinuation { waiters.append($0) }
    }

    private func release(_ c: PGConnection) {
        guard c.isHealthy else {
            open -= 1
            return
        }
        if waiters.isEmpty { idle.append(c) } else { waiters.removeFirst().resume(returning: c) }
    }

    /// Runs `body` with a connection of its own, on a thread-pool thread.
    func with<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        let c = try await acquire()
        defer { release(c) }
        return try await NIOThreadPoolRunner.run { try body(c) }
    }
}
