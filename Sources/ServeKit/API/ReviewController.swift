import Foundation
import HTTPTypes
import Hummingbird
import Inference

/// The review API for engineers, under `/api/v1`.
struct ReviewController<Context: RequestContext>: Sendable {
    let store: any Store
    let live: LiveService
    let pipeline: ScoringPipeline
    /// Reads stored models a report names, in a child process.
    let reader: IsolatedModelReader
    /// Most points a score series returns; longer ranges are decimated.
    let maxPoints = 2_000

    func addRoutes(to g: RouterGroup<Context>) {
        g.get("streams", use: listStreams)
        g.get("streams/{id}", use: stream)
        g.get("streams/{id}/cycles", use: cycles)
        g.post("streams/{id}/maintenance", use: setMaintenance)
        g.get("streams/{id}/signal", use: signal)
        g.get("streams/{id}/transitions", use: transitions)
        g.get("streams/{id}/scores", use: scores)
        g.get("cycles/{id}", use: cycleDetail)
        g.get("cycles/{id}/aligned", use: alignedCycle)
        g.get("cycles/{id}/samples.csv", use: cycleSamplesCSV)
        g.post("cycles/{id}/label", use: label)
        g.get("events", use: events)
        g.post("events/{id}/acknowledge", use: acknowledge)
        g.post("events/{id}/resolve", use: resolve)
        g.post("events/{id}/notes", use: addNote)
        g.get("export/normal-cycles", use: normalCycles)
        g.get("models", use: models)
    }

    // MARK: Handlers

    @Sendable func listStreams(_ request: Request, context: Context) async throws -> StreamList {
        StreamList(streams: try await summaries(try await store.streams()))
    }

    @Sendable func stream(_ request: Request, context: Context) async throws -> StreamSummary {
        let id = try context.parameters.require("id")
        guard let s = try await store.stream(id) else { throw APIError.notFound("unknown_stream", "no stream \"\(id)\"") }
        return try await summaries([s])[0]
    }

    @Sendable func cycles(_ request: Request, context: Context) async throws -> CycleList {
        let id = try context.parameters.require("id")
        guard try await store.stream(id) != nil else { throw APIError.notFound("unknown_stream", "no stream \"\(id)\"") }
        return CycleList(cycles: try await store.cycles(stream: id).map(CycleSummary.init))
    }

    /// A maintenance window: {"active": true} suppresses every sensor of the stream, false ends it.
    @Sendable func setMaintenance(_ request: Request, context: Context) async throws -> StreamSummary {
        let id = try context.parameters.require("id")
        guard try await store.stream(id) != nil else { throw APIError.notFound("unknown_stream", "no stream \"\(id)\"") }
        let body = try await decodeJSON(MaintenanceRequest.self, request, context)
        guard try await live.setMaintenance(stream: id, active: body.active, at: live.context.clock()) else {
            throw APIError.conflict("not_scored", "stream \(id) is not scored, so it has no sensor states to suppress")
        }
        guard let s = try await store.stream(id) else { throw APIError.notFound("unknown_stream", "no stream \"\(id)\"") }
        return try await summaries([s])[0]
    }

    /// The last seconds of a stream reduced as the live `signal` pushes are, so that a live
    /// chart starts full: ?seconds=30 (at most 60) before the stream's last row.
    @Sendable func signal(_ request: Request, context: Context) async throws -> SignalHistory {
        let id = try context.parameters.require("id")
        guard let s = try await store.stream(id) else { throw APIError.notFound("unknown_stream", "no stream \"\(id)\"") }
        let seconds = Double(request.uri.queryParameters.get("seconds").map { "\($0)" } ?? "30") ?? -1
        guard seconds > 0 && seconds <= 60 else { throw APIError.badRequest("seconds must be a number above 0 and at most 60") }
        var decimator = SignalDecimator(width: max(1, s.sensors.count))
        if let last = s.lastTimestamp, !s.sensors.isEmpty {
            for r in try await store.samples(stream: id, from: last - seconds, to: last) where r.values.count == s.sensors.count {
                decimator.add(time: r.time, values: r.values)
            }
        }
        return SignalHistory(stream_id: id, sensors: s.sensors.map(\.name), bucket: decimator.bucket, points: decimator.take())
    }

    @Sendable func transitions(_ request: Request, context: Context) async throws -> TransitionList {
        let id = try context.parameters.require("id")
        guard try await store.stream(id) != nil else { throw APIError.notFound("unknown_stream", "no stream \"\(id)\"") }
        let raw = request.uri.queryParameters.get("limit").map { "\($0)" } ?? "100"
        guard let limit = Int(raw), (1...1_000).contains(limit) else {
            throw APIError.badRequest("limit must be a whole number from 1 to 1000")
        }
        return TransitionList(transitions: try await store.transitions(stream: id, limit: limit).map(TransitionView.init))
    }

    @Sendable func scores(_ request: Request, context: Context) async throws -> ScoreSeries {
        let id = try context.parameters.require("id")
        guard let s = try await store.stream(id) else { throw APIError.notFound("unknown_stream", "no stream \"\(id)\"") }
        let from = try time(request.uri.queryParameters.get("from"), default: 0)
        let to = try time(request.uri.queryParameters.get("to"), default: .infinity)
        guard from <= to else { throw APIError.badRequest("from is after to") }
        let all = try await store.scores(stream: id, from: from, to: to)
        let bucket = max(1, (all.count + maxPoints - 1) / maxPoints)
        let points = stride(from: 0, to: all.count, by: bucket).map { start -> ScoreSeries.Point in
            let part = all[start..<min(all.count, start + bucket)]
            let top = part.max { $0.score < $1.score }!
            let sensors = (0..<top.sensorScores.count).map { j in part.map { $0.sensorScores[j] }.max()! }
            return .init(time: Timestamp.format(part.last!.time), score: top.score, sensor_scores: sensors)
        }
        return ScoreSeries(stream_id: id, sensors: s.sensors.map(\.name), bucket: bucket, points: points)
    }

    @Sendable func cycleDetail(_ request: Request, context: Context) async throws -> CycleDetail {
        let c = try await cycle(context)
        let report = try c.reportJSON.map { try JSONDecoder().decode(CycleReport.self, from: Data($0.utf8)) }
        return CycleDetail(cycle: CycleSummary(c), report: report)
    }

    /// The cycle beside the reference cycle of the stream's model, aligned by the report's DTW path.
    @Sendable func alignedCycle(_ request: Request, context: Context) async throws -> AlignedCycle {
        let c = try await cycle(context)
        let points = Int(request.uri.queryParameters.get("points").map { "\($0)" } ?? "600") ?? -1
        guard (2...5_000).contains(points) else { throw APIError.badRequest("points must be an integer from 2 to 5000") }
        guard let s = try await store.stream(c.streamID) else { throw APIError.notFound("unknown_stream", "the cycle's stream is gone") }
        let report = try c.reportJSON.map { try JSONDecoder().decode(CycleReport.self, from: Data($0.utf8)) }
        // The model the report compared with (loaded from the store if it is no longer in use),
        // else the stream's current one.
        if let id = report?.modelID { try await ModelRegistry.ensureLoaded(id, store: store, pipeline: pipeline, reader: reader) }
        let current = await pipeline.modelID(for: s.id)
        guard let modelID = report?.modelID ?? current, let model = await pipeline.loadedModel(modelID) else {
            throw APIError.notFound("no_model", "stream \(s.id) has no model, so there is no reference cycle")
        }
        guard let reference = model.reference else {
            throw APIError.notFound("no_reference", "model \(modelID) carries no reference cycle")
        }
        let names = s.sensors.map(\.name)
        let map = model.sensors.compactMap { names.firstIndex(of: $0) }
        guard map.count == model.sensors.count else {
            throw APIError.conflict("model_mismatch", "model \(modelID) does not measure this stream's sensors")
        }
        let rows = try await store.samples(cycle: c.id)
        let alignment = CycleAlignment.make(
            sensors: model.sensors, values: rows.flatMap { r in map.map { r.values[$0] } }, times: rows.map(\.time),
            reference: reference.values, path: report?.path ?? [], scaler: model.scaler,
            dtwThreshold: reference.dtwThreshold, points: points)
        return AlignedCycle(cycle_id: c.id, model_id: modelID, alignment: alignment)
    }

    @Sendable func cycleSamplesCSV(_ request: Request, context: Context) async throws -> Response {
        let c = try await cycle(context)
        guard let s = try await store.stream(c.streamID) else { throw APIError.notFound("unknown_stream", "the cycle's stream is gone") }
        var csv = "timestamp," + s.sensors.map { csvField($0.name) }.joined(separator: ",") + "\n"
        for r in try await store.samples(cycle: c.id) {
            csv += Timestamp.format(r.time) + "," + r.values.map { "\($0)" }.joined(separator: ",") + "\n"
        }
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                               .contentDisposition: "attachment; filename=\"cycle-\(c.number)-\(c.id).csv\""],
                        body: .init(byteBuffer: ByteBuffer(string: csv)))
    }

    @Sendable func label(_ request: Request, context: Context) async throws -> CycleSummary {
        let c = try await cycle(context)
        let text = try await decodeJSON(LabelRequest.self, request, context).label
        guard let label = CycleLabel(rawValue: text) else {
            throw APIError.badRequest("label must be normal, anomalous or reference, not \"\(text)\"")
        }
        let changed = try await live.changeCycle(c) { c in
            guard c.state == .stopped || c.state == .aborted else {
                throw APIError.conflict("cycle_not_finished", "cycle \(c.id) is \(c.state.rawValue); label it once it is STOPPED or ABORTED")
            }
            c.label = label
        }
        guard let changed else { throw APIError.notFound("unknown_cycle", "no cycle \"\(c.id)\"") }
        return CycleSummary(changed)
    }

    @Sendable func events(_ request: Request, context: Context) async throws -> EventList {
        let status = try request.uri.queryParameters.get("status").map { raw -> EventStatus in
            guard let s = EventStatus(rawValue: raw.uppercased()) else {
                throw APIError.badRequest("status must be OPEN, ACKNOWLEDGED or RESOLVED, not \"\(raw)\"")
            }
            return s
        }
        let events = try await store.events(status: status, stream: request.uri.queryParameters.get("stream_id"))
        let notes = try await store.eventNotes(events: events.map(\.id))
        return EventList(events: events.map { EventView($0, notes: notes[$0.id] ?? []) })
    }

    @Sendable func acknowledge(_ request: Request, context: Context) async throws -> EventView {
        let e = try await event(context)
        let body = try await optionalBody(AcknowledgeRequest.self, request, context)
        let (who, now) = (try author(body?.by), live.context.clock())
        let entry = try body?.note.map { try note($0, event: e, by: who, at: now) }
        return try await save(e) { e in
            do { try e.acknowledge(by: who, at: now, note: body?.note) } catch let err as EventLifecycleError {
                throw APIError.conflict("invalid_event_transition", err.description)
            }
            return entry
        }
    }

    @Sendable func resolve(_ request: Request, context: Context) async throws -> EventView {
        let e = try await event(context)
        let body = try await decodeJSON(ResolveRequest.self, request, context)
        guard let resolution = EventResolution(rawValue: body.resolution) else {
            throw APIError.badRequest("resolution must be fixed, false_positive or planned, not \"\(body.resolution)\"")
        }
        let (who, now) = (try author(body.by), live.context.clock())
        let entry = try body.note.map { try note($0, event: e, by: who, at: now) }
        return try await save(e) { e in
            do {
                try e.resolve(by: who, at: now, resolution: resolution, note: body.note)
            } catch let err as EventLifecycleError {
                throw APIError.conflict("invalid_event_transition", err.description)
            }
            return entry
        }
    }

    /// A note on an event in any status, kept in its history; `note` shows the latest.
    @Sendable func addNote(_ request: Request, context: Context) async throws -> EventView {
        let e = try await event(context)
        let body = try await decodeJSON(NoteRequest.self, request, context)
        let (who, now) = (try author(body.by), live.context.clock())
        let entry = try note(body.note, event: e, by: who, at: now)
        return try await save(e) { e in
            e.note = body.note
            return entry
        }
    }

    @Sendable func normalCycles(_ request: Request, context: Context) async throws -> Response {
        try await exportNormalCycles(stream: request.uri.queryParameters.get("stream_id"))
    }

    @Sendable func models(_ request: Request, context: Context) async throws -> ModelList {
        ModelList(models: try await store.models().map(ModelView.init))
    }


    private func cycle(_ context: Context) async throws -> CycleRecord {
        let id = try context.parameters.require("id")
        guard let c = try await store.cycle(id) else { throw APIError.notFound("unknown_cycle", "no cycle \"\(id)\"") }
        return c
    }

    /// Applies an engineer's change to an event through the owner of its stream — on the event
    /// as stored when the owner gets to it, in order with the windows that may escalate it — and
    /// answers with the event and its notes.
    private func save(_ e: MaintenanceEvent, _ change: @escaping @Sendable (inout MaintenanceEvent) throws -> EventNote?) async throws
        -> EventView
    {
        let saved = try await live.review(e, change)
        return EventView(saved, notes: try await store.eventNotes(events: [saved.id])[saved.id] ?? [])
    }

    private func author(_ by: String?) throws -> String {
        guard let by else { return "engineer" }
        try TextField.check(by, "by", maxLength: 128)
        return by
    }

    private func note(_ text: String, event e: MaintenanceEvent, by who: String, at time: Double) throws -> EventNote {
        try TextField.check(text, "note", maxLength: 4_000, prose: true)
        return EventNote(eventID: e.id, author: who, note: text, at: time)
    }

    private func event(_ context: Context) async throws -> MaintenanceEvent {
        let id = try context.parameters.require("id")
        guard let e = try await store.event(id) else { throw APIError.notFound("unknown_event", "no event \"\(id)\"") }
        return e
    }

    private func optionalBody<T: Decodable>(_ t: T.Type, _ request: Request, _ context: Context) async throws -> T? {
        let buffer = try await RequestBody.collect(request, limit: RequestBody.maxBytes)
        guard buffer.readableBytes > 0 else { return nil }
        do { return try JSONDecoder().decode(T.self, from: Data(buffer: buffer)) } catch { throw APIError.badRequest("malformed JSON body") }
    }

    private func time(_ raw: String?, default value: Double) throws -> Double {
        guard let raw else { return value }
        guard let t = Timestamp.parse(raw) else { throw APIError.badRequest("\"\(raw)\" is not an ISO 8601 time or epoch seconds") }
        return t
    }

    private func summaries(_ records: [StreamRecord]) async throws -> [StreamSummary] {
        var out: [StreamSummary] = []
        for r in records {
            let states = try await store.sensorStates(stream: r.id)
            let scoring = await live.scoring(r)
            let open = try await store.events(status: nil, stream: r.id).filter(\.isOpen).count
            let last = try await store.cycles(stream: r.id).first { $0.healthScore != nil }
            out.append(StreamSummary(
                id: r.id, device_name: r.deviceName, cycle_state: r.cycleState.rawValue, cycle_number: r.cycleNumber,
                current_cycle_id: r.currentCycleID, last_sample_at: r.lastTimestamp.map(Timestamp.format), scored: scoring.scored,
                scoring: scoring.reason,
                sensors: r.sensors.map { s in
                    let st = states.first { $0.sensor == s.name }
                    return .init(name: s.name, unit: s.unit, state: st?.state.rawValue ?? (scoring.scored ? "NORMAL" : "UNSCORED"),
                                 since: st.map { Timestamp.format($0.since) })
                },
                open_events: open, last_cycle_health: last?.healthScore, model_id: scoring.model,
                model_assigned: await pipeline.hasOwnModel(r.id)))
        }
        return out
    }

    /// Every cycle labelled normal (or, without labels, every finished cycle not flagged anomalous),
    /// as one CSV with a cycle_id column — `vertac-train fit` reads it as is.
    private func exportNormalCycles(stream: String?) async throws -> Response {
        let streams = try await store.streams().filter { stream == nil || $0.id == stream }
        guard let first = streams.first else { throw APIError.notFound("unknown_stream", "no stream to export") }
        let names = first.sensors.map(\.name)
        var csv = "timestamp,cycle_id," + names.map(csvField).joined(separator: ",") + "\n"
        var exported = 0
        for s in streams where s.sensors.map(\.name) == names {
            for c in try await store.cycles(stream: s.id).reversed() {
                let finished = c.state == .stopped
                guard c.label == .normal || c.label == .reference || (c.label == nil && finished && c.anomalous != true) else { continue }
                for r in try await store.samples(cycle: c.id) {
                    csv += Timestamp.format(r.time) + "," + c.id + "," + r.values.map { "\($0)" }.joined(separator: ",") + "\n"
                }
                exported += 1
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8", HTTPField.Name("X-VerTac-Cycles")!: "\(exported)"],
                        body: .init(byteBuffer: ByteBuffer(string: csv)))
    }
}

/// Quotes a CSV field when it holds a separator, quote or line break.
func csvField(_ s: String) -> String {
    s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == ";" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
}
