import Hummingbird

/// Counts every HTTP request by route (the route's pattern, so ids do not make new series),
/// method and status, and times it by route and method (``ServerMetrics/request(route:method:status:nanoseconds:)``).
/// Outermost but for the security headers: errors are counted with the status they answer.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ServerMetrics.now()
        let status: Int
        do {
            let response = try await next(request, context)
            status = Int(response.status.code)
            record(request, context, status, start)
            return response
        } catch let e as HTTPResponseError {
            record(request, context, Int(e.status.code), start)
            throw e
        } catch {
            record(request, context, 500, start)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, _ status: Int, _ start: UInt64) {
        // Routes the router does not know (dashboard files, 404s) share one series each.
        // Hummingbird names them "NotFound" before the file middleware answers.
        let matched = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 }
        let route = matched ?? (status == 404 ? "unmatched" : "files")
        metrics.request(route: route, method: request.method.rawValue, status: status, nanoseconds: ServerMetrics.now() &- start)
    }
}
