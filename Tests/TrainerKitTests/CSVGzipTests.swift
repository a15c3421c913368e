import Foundation
import Testing
@testable import TrainerKit

/// Compresses with the system's `gzip` (an independent writer of the format).
func gzip(_ data: Data) throws -> Data {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["gzip", "-c", "-n"]
    let input = Pipe(), output = Pipe()
    p.standardInput = input
    p.standardOutput = output
    try p.run()
    // Written from another thread: gzip's output pipe must be drained while it reads.
    let writer = Thread { input.fileHandleForWriting.write(data); try? input.fileHandleForWriting.close() }
    writer.start()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw CSVError(path: "gzip", message: "exit status \(p.terminationStatus)") }
    return out
}

@Suite struct CSVGzipTests {
    static let text = "timestamp,cycle_id,a,b,anomaly\n" + (0..<500).map { r in
        "2026-01-01T00:00:\(String(format: "%02d", r % 60)).\(r)Z,c\(r / 100),\(Float(r) * 0.25),\(-r),\(r % 7 == 0 ? 1 : 0)"
    }.joined(separator: "\n") + "\n"

    func same(_ a: CSVTable, _ b: CSVTable) -> Bool {
        a.sensors == b.sensors && a.values == b.values && a.rows == b.rows && a.times == b.times && a.timeText == b.timeText
            && a.anomaly == b.anomaly && a.cycleIDs == b.cycleIDs && a.separator == b.separator
    }

    func error(_ path: String, limit: Int = CSVTable.gzipLimit) -> CSVError? {
        do { _ = try CSVTable.read(path, gzipLimit: limit); return nil } catch { return error as? CSVError }
    }

    @Test func aGzipFileReadsAsItsPlainTwin() throws {
        let dir = Scratch()
        try Self.text.write(toFile: dir.file("x.csv"), atomically: true, encoding: .utf8)
        try gzip(Data(Self.text.utf8)).write(to: URL(fileURLWithPath: dir.file("x.csv.gz")))
        let plain = try CSVTable.read(dir.file("x.csv")), packed = try CSVTable.read(dir.file("x.csv.gz"))
        #expect(plain.rows == 500 && same(plain, packed))
        #expect(packed.path == dir.file("x.csv.gz"))
        // Recognised by its bytes, not its name.
        try gzip(Data(Self.text.utf8)).write(to: URL(fileURLWithPath: dir.file("y.csv")))
        #expect(same(plain, try CSVTable.read(dir.file("y.csv"))))
    }

    @Test func concatenatedMembersReadAsOneFile() throws {
        let dir = Scratch()
        let lines = Self.text.split(separator: "\n", omittingEmptySubsequences: false)
        let first = lines[0..<200].joined(separator: "\n") + "\n", rest = lines[200...].joined(separator: "\n")
        var data = try gzip(Data(first.utf8))
        data += try gzip(Data(rest.utf8))
        data += Data(count: 16) // zero padding after the last member, as tape tools leave it
        try data.write(to: URL(fileURLWithPath: dir.file("m.csv.gz")))
        #expect(same(try CSVTable.parse(Self.text, path: "t"), try CSVTable.read(dir.file("m.csv.gz"))))
    }

    @Test func foldersListCompressedFiles() throws {
        let dir = Scratch()
        try FileManager.default.createDirectory(atPath: dir.file("d/sub"), withIntermediateDirectories: true)
        try "a\n1\n".write(toFile: dir.file("d/2.csv"), atomically: true, encoding: .utf8)
        try gzip(Data("a\n2\n".utf8)).write(to: URL(fileURLWithPath: dir.file("d/sub/10.CSV.GZ")))
        try gzip(Data("a\n3\n".utf8)).write(to: URL(fileURLWithPath: dir.file("d/1.csv.gz")))
        try "not data".write(toFile: dir.file("d/notes.txt"), atomically: true, encoding: .utf8)
        try gzip(Data("x".utf8)).write(to: URL(fileURLWithPath: dir.file("d/other.gz")))
        let files = try Dataset.expand([dir.file("d")])
        #expect(files.map { String($0.dropFirst(dir.path.count)) } == ["/d/1.csv.gz", "/d/2.csv", "/d/sub/10.CSV.GZ"])
        let data = try Dataset.load([dir.file("d")])
        #expect(data.cycles.map(\.values) == [[3], [1], [2]])
    }

    @Test func brokenGzipIsACSVErrorNamingTheFile() throws {
        let dir = Scratch()
        let packed = try gzip(Data(Self.text.utf8))
        try packed.prefix(packed.count / 2).write(to: URL(fileURLWithPath: dir.file("cut.csv.gz")))
        let cut = try #require(error(dir.file("cut.csv.gz")))
        #expect(cut.path == dir.file("cut.csv.gz") && cut.line == nil)
        #expect(cut.description == "\(dir.file("cut.csv.gz")): truncated gzip data (the file ends inside the compressed stream)")
        // Only the trailer missing: the data is all there, its check is not.
        try packed.dropLast(4).write(to: URL(fileURLWithPath: dir.file("trailer.csv.gz")))
        #expect(error(dir.file("trailer.csv.gz"))?.message.hasPrefix("truncated gzip data") == true)
        try Data([0x1f, 0x8b]).write(to: URL(fileURLWithPath: dir.file("magic.csv.gz")))
        #expect(error(dir.file("magic.csv.gz"))?.message.hasPrefix("truncated gzip data") == true)

        var flipped = packed
        flipped[packed.count / 2] ^= 0xFF
        try flipped.write(to: URL(fileURLWithPath: dir.file("bad.csv.gz")))
        let bad = try #require(error(dir.file("bad.csv.gz")))
        #expect(bad.message.hasPrefix("corrupt gzip data ("), "\(bad)")
        var checksum = packed
        checksum[packed.count - 8] ^= 0x01 // the CRC-32 of the data
        try checksum.write(to: URL(fileURLWithPath: dir.file("crc.csv.gz")))
        #expect(error(dir.file("crc.csv.gz"))?.message == "corrupt gzip data (incorrect data check)")

        try (packed + Data("garbage".utf8)).write(to: URL(fileURLWithPath: dir.file("tail.csv.gz")))
        #expect(error(dir.file("tail.csv.gz"))?.message == "data after the end of the gzip stream at byte \(packed.count) (not another gzip member)")
        // Decompressed text goes through the same checks as a plain file.
        try gzip(Data()).write(to: URL(fileURLWithPath: dir.file("empty.csv.gz")))
        #expect(error(dir.file("empty.csv.gz"))?.description == "\(dir.file("empty.csv.gz")):1: empty file: no header row")
        try gzip(Data("a\n1\nx\n".utf8)).write(to: URL(fileURLWithPath: dir.file("cell.csv.gz")))
        #expect(error(dir.file("cell.csv.gz"))?.description == "\(dir.file("cell.csv.gz")):3:1 (column \"a\"): \"x\" is not a finite number")
    }

    @Test func aGzipBombStopsAtTheLimit() throws {
        let dir = Scratch()
        // 3 MiB of rows compress to a few KiB.
        let rows = "a,b\n" + String(repeating: "1,2\n", count: 3 << 18)
        let packed = try gzip(Data(rows.utf8))
        #expect(packed.count < 64 << 10)
        try packed.write(to: URL(fileURLWithPath: dir.file("bomb.csv.gz")))
        let e = try #require(error(dir.file("bomb.csv.gz"), limit: 1 << 20))
        #expect(e.description == "\(dir.file("bomb.csv.gz")): decompresses to more than 1 MiB, the limit for a compressed CSV file")
        // Exactly at the limit is allowed; the default limit reads it.
        #expect(try CSVTable.read(dir.file("bomb.csv.gz"), gzipLimit: rows.utf8.count).rows == 3 << 18)
        #expect(error(dir.file("bomb.csv.gz"), limit: rows.utf8.count - 1) != nil)
        #expect(try CSVTable.read(dir.file("bomb.csv.gz")).rows == 3 << 18)
        #expect(CSVTable.gzipLimit == 2 << 30)
    }
}
