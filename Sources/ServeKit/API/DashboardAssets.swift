import Foundation

/// Where the dashboard's static files are: plain HTML, CSS and ES modules, served at `/`.
///
/// They ship as the ServeKit target's resources (`VerTac_ServeKit.resources/Dashboard` beside the
/// executable); `--dashboard DIR` or `VERTAC_DASHBOARD_DIR` serve another copy, and a build run
/// from the source tree finds `Sources/ServeKit/Dashboard`.
public enum DashboardAssets {
    public static func locate(_ explicit: String? = nil) -> String? {
        var candidates: [String] = []
        if let explicit { return hasIndex(explicit) ? explicit : nil }
        if let env = ProcessInfo.processInfo.environment["VERTAC_DASHBOARD_DIR"], !env.isEmpty { candidates.append(env) }
        for exe in [Bundle.main.executableURL?.resolvingSymlinksInPath().path, CommandLine.arguments.first].compactMap({ $0 }) {
            let dir = (exe as NSString).deletingLastPathComponent
            candidates.append("\(dir)/VerTac_ServeKit.resources/Dashboard")
        }
        // Sources/ServeKit/API/DashboardAssets.swift → Sources/ServeKit/Dashboard
        let source = ((#filePath as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
        candidates.append("\(source)/Dashboard")
        return candidates.first(where: hasIndex)
    }

    static func hasIndex(_ dir: String) -> Bool {
        FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("index.html"))
    }
}
