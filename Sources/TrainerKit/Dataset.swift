import Foundation

/// One machine cycle: rows of sensor values, in the dataset's sensor order.
public struct Cycle: Sendable {
    /// Where it came from: `file` or `file#cycle_id`.
    public var source: String
    /// Its `cycle_id`, or nil when the whole file is the cycle.
    public var cycleID: String?
    /// `[rows, sensors]` row-major, raw units.
    public var values: [Float]
    public var rows: Int
    /// Row times (seconds), or nil when the file had no time column.
    public var times: [Double]?
    public var timeText: [String]?
    public var anomaly: [Float]?
    public var changepoint: [Float]?

    public init(source: String, cycleID: String? = nil, values: [Float], rows: Int, times: [Double]? = nil, timeText: [String]? = nil,
                anomaly: [Float]? = nil, changepoint: [Float]? = nil) {
        precondition(rows > 0 && values.count % rows == 0, "values are not whole rows")
        self.source = source
        self.cycleID = cycleID
        self.values = values
        self.rows = rows
        self.times = times
        self.timeText = timeText
        self.anomaly = anomaly
        self.changepoint = changepoint
    }
}

/// Cycles from one or more CSV files, with one sensor list.
public struct Dataset: Sendable {
    public var sensors: [String]
    public var cycles: [Cycle]
    /// The files read, in order.
    public var files: [String]

    public init(sensors: [String], cycles: [Cycle], files: [String] = []) {
        self.sensors = sensors
        self.cycles = cycles
        self.files = files
    }

    public var rows: Int { cycles.reduce(0) { $0 + $1.rows } }

    /// Whether a file name is a CSV file's: `*.csv` or `*.csv.gz` (any case).
    public static func isCSVName(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower.hasSuffix(".csv") || lower.hasSuffix(".csv.gz")
    }

    /// Expands folders to their `*.csv` and `*.csv.gz` files (sorted, recursively) and keeps files as given.
    public static func expand(_ paths: [String]) throws -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for p in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else { throw CSVError(path: p, message: "no such file or folder") }
            if isDir.boolValue {
                let found = (fm.enumerator(atPath: p)?.compactMap { $0 as? String } ?? [])
                    .filter(isCSVName)
                    .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
                guard !found.isEmpty else { throw CSVError(path: p, message: "folder has no .csv or .csv.gz files") }
                out += found.map { (p as NSString).appendingPathComponent($0) }
            } else {
                out.append(p)
            }
        }
        return out
    }

    /// Loads files and folders.
    ///
    /// - Parameter sensors: the sensor columns to use, in this order; nil for every sensor
    ///   column of the first file (later files must have them all).
    /// - Throws: ``CSVError`` for a bad file or cell, or a missing sensor (named).
    public static func load(_ paths: [String], sensors wanted: [String]? = nil) throws -> Dataset {
        let files = try expand(paths)
        var sensors = wanted
        var cycles: [Cycle] = []
        for file in files {
            let table = try CSVTable.read(file)
            if sensors == nil { sensors = table.sensors }
            cycles += try split(table, sensors: sensors!)
        }
        return Dataset(sensors: sensors ?? [], cycles: cycles, files: files)
    }

    /// Picks `sensors` from a table (by name) and splits it into cycles by `cycle_id`.
    public static func split(_ table: CSVTable, sensors: [String]) throws -> [Cycle] {
        let index = try sensors.map { name -> Int in
            guard let k = table.sensors.firstIndex(of: name) else {
                throw CSVError(path: table.path, line: 1, message: "missing sensor column \"\(name)\" (has: \(table.sensors.joined(separator: ", ")))")
            }
            return k
        }
        let D = table.sensors.count
        func make(_ rows: Range<Int>, _ id: String?) -> Cycle {
            var v = [Float]()
            v.reserveCapacity(rows.count * sensors.count)
            for r in rows { for k in index { v.append(table.values[r * D + k]) } }
            return Cycle(source: id.map { "\(table.path)#\($0)" } ?? table.path, cycleID: id, values: v, rows: rows.count,
                         times: table.times.map { Array($0[rows]) },
                         timeText: table.timeText.map { Array($0[rows]) },
                         anomaly: table.anomaly.map { Array($0[rows]) }, changepoint: table.changepoint.map { Array($0[rows]) })
        }
        guard let ids = table.cycleIDs else { return [make(0..<table.rows, nil)] }
        var out: [Cycle] = []
        var seen = Set<String>()
        var start = 0
        for r in 1...table.rows where r == table.rows || ids[r] != ids[start] {
            guard seen.insert(ids[start]).inserted else {
                throw CSVError(path: table.path, line: start + 2, columnName: "cycle_id",
                               message: "cycle_id \"\(ids[start])\" appears again after another cycle")
            }
            out.append(make(start..<r, ids[start]))
            start = r
        }
        return out
    }
}

/// Sliding windows over cycles: T rows every `stride` rows, never across a cycle boundary.
public enum Windowing {
    /// Where each window starts: (cycle index, first row).
    public static func starts(_ cycles: [Cycle], window: Int, stride: Int) -> [(cycle: Int, row: Int)] {
        precondition(window > 0 && stride > 0, "window and stride must be positive")
        return cycles.enumerated().flatMap { c, cycle in
            cycle.rows >= window ? Swift.stride(from: 0, through: cycle.rows - window, by: stride).map { (c, $0) } : []
        }
    }

    /// The windows as one `[count, T, D]` array of already scaled cycles.
    public static func gather(_ cycles: [[Float]], _ starts: [(cycle: Int, row: Int)], window: Int, sensors: Int) -> [Float] {
        var out = [Float]()
        out.reserveCapacity(starts.count * window * sensors)
        for s in starts { out += cycles[s.cycle][(s.row * sensors)..<((s.row + window) * sensors)] }
        return out
    }
}

/// Percentiles with linear interpolation between order statistics (numpy's default).
public enum Percentile {
    /// The `p`-th percentile (0–100) of `values` (non-empty), interpolated between the two
    /// nearest ranks: the same value as sorting, found by selection in linear expected time.
    public static func of(_ values: [Float], _ p: Double) -> Float {
        precondition(!values.isEmpty && p >= 0 && p <= 100, "percentile of nothing or outside 0–100")
        var v = values
        let pos = p / 100 * Double(v.count - 1)
        let lo = Int(pos.rounded(.down))
        let f = Float(pos - Double(lo))
        return v.withUnsafeMutableBufferPointer { b -> Float in
            let low = select(b, lo)
            guard f > 0, lo + 1 < b.count else { return low }
            // After selection everything right of `lo` is ≥ it: the next rank is their minimum.
            var high = b[lo + 1]
            for k in (lo + 2)..<b.count where b[k] < high { high = b[k] }
            return low + (high - low) * f
        }
    }

    /// Rearranges `b` so that `b[k]` holds the value of rank `k`, everything before it is ≤ and
    /// everything after it ≥ (quickselect, median-of-three pivots; NaN-free input).
    static func select(_ b: UnsafeMutableBufferPointer<Float>, _ k: Int) -> Float {
        var lo = 0, hi = b.count - 1
        while hi > lo {
            if hi - lo < 16 {
                // Insertion sort on a short range.
                for i in (lo + 1)...hi {
                    let x = b[i]
                    var j = i - 1
                    while j >= lo && b[j] > x { b[j + 1] = b[j]; j -= 1 }
                    b[j + 1] = x
                }
                break
            }
            let mid = lo + (hi - lo) / 2
            if b[mid] < b[lo] { b.swapAt(mid, lo) }
            if b[hi] < b[lo] { b.swapAt(hi, lo) }
            if b[hi] < b[mid] { b.swapAt(hi, mid) }
            let pivot = b[mid]
            var i = lo, j = hi
            while i <= j {
                while b[i] < pivot { i += 1 }
                while b[j] > pivot { j -= 1 }
                if i <= j { b.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { break }
        }
        return b[k]
    }
}
