import HTTPTypes
import Hummingbird

/// The outermost middleware: headers that keep browsers safe on every answer (errors included),
/// and no path that a browser would read as another host.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The dashboard loads its own scripts, styles and images and talks to this server only;
    /// inline `style` attributes (bar widths, state colours) are the one inline thing it uses.
    static var headers: HTTPFields {
        [
            .contentSecurityPolicy: "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                + "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
            .xFrameOptions: "DENY",
            .xContentTypeOptions: "nosniff",
            .referrerPolicy: "no-referrer",
        ]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            // `//host/x` is a path to us but, echoed in a redirect's Location, another site to a
            // browser: such paths name nothing here.
            if request.uri.path.hasPrefix("//") || request.uri.path.contains("/../") {
                throw APIError.notFound("not_found", "no such path")
            }
            response = try await next(request, context)
        } catch let e as HTTPResponseError {
            response = try e.response(from: request, context: context)
        }
        for field in Self.headers where response.headers[field.name] == nil { response.headers.append(field) }
        return response
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = Self("Content-Security-Policy")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}
