using System.Reflection;
using MiniLlmPipeline.Generation;

namespace MiniLlmPipeline.Stages.Serve;

/// <summary>What the server needs besides the model: its name, bounds, the optional key, where request lines go.</summary>
public sealed record ServeOptions
{
    public required string ModelName { get; init; }
    public ServeLimits Limits { get; init; } = new();
    /// <summary>When set, /v1 requests need <c>Authorization: Bearer &lt;key&gt;</c>.</summary>
    public string? ApiKey { get; init; }
    /// <summary>One line per request; null = standard error.</summary>
    public TextWriter? Log { get; init; }
}

/// <summary>
/// The OpenAI-compatible HTTP server over one <see cref="TextGenerator"/>: minimal-API endpoints on Kestrel, the chat
/// page at <c>/</c>, every request decoded by the one <see cref="DecodeScheduler"/>. Errors leave in OpenAI's shape
/// and never with a stack trace.
/// </summary>
public static class ServeApp
{
    private static readonly long Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>A server listening on <paramref name="urls"/> (e.g. http://127.0.0.1:0); dispose it to stop decoding.</summary>
    public static WebApplication Build(TextGenerator generator, ServeOptions options, params string[] urls)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.Limits.MaxBodyBytes);
        var scheduler = new DecodeScheduler(generator.Model, options.Limits);
        builder.Services.AddSingleton(scheduler);
        var app = builder.Build();
        app.Lifetime.ApplicationStopped.Register(scheduler.Dispose);
        var handler = new CompletionHandler(generator, scheduler, new RequestParser(generator, options.ModelName, options.Limits), options);

        app.Use(async (context, next) =>
        {
            try
            {
                if (options.ApiKey is { } key && context.Request.Path.StartsWithSegments("/v1") &&
                    context.Request.Headers.Authorization.ToString() != $"Bearer {key}")
                    throw new ApiError(401, "Missing or wrong API key: send 'Authorization: Bearer <key>'", null, "invalid_api_key");
                await next(context);
            }
            catch (Exception e) when (!context.Response.HasStarted)
            {
                var error = e switch
                {
                    ApiError api => api,
                    BadHttpRequestException { StatusCode: 413 } => new ApiError(413, $"The request body is larger than {options.Limits.MaxBodyBytes} bytes", null, "request_too_large"),
                    BadHttpRequestException bad => new ApiError(bad.StatusCode, "The request could not be read: " + bad.Message),
                    _ => new ApiError(500, "The server failed to handle this request", null, "internal_error"),
                };
                // Refused requests get their log line here (the completion handler logs the ones it served).
                (options.Log ?? Console.Error).WriteLine(error.Status == 500
                    ? $"serve: {context.Request.Method} {context.Request.Path} 500 internal error: {e.GetType().Name}: {e.Message}"
                    : $"serve: {context.Request.Method} {context.Request.Path} {error.Status} {error.Code}");
                await WriteError(context, error, options.Limits.RetryAfterSeconds);
            }
        });

        app.MapGet("/health", () => Results.Json(new { status = "ok", model = options.ModelName, active_rows = scheduler.ActiveRows, queued = scheduler.Queued }));
        app.MapGet("/v1/models", () => Results.Json(new { @object = "list", data = new[] { ModelEntry(options.ModelName) } }));
        app.MapGet("/v1/models/{id}", (string id) => id == options.ModelName
            ? Results.Json(ModelEntry(id))
            : throw new ApiError(404, $"The model '{id}' does not exist; this server serves '{options.ModelName}'", "model", "model_not_found"));
        app.MapPost("/v1/chat/completions", (HttpContext context) => handler.Handle(context, chat: true));
        app.MapPost("/v1/completions", (HttpContext context) => handler.Handle(context, chat: false));
        var page = ChatPage();
        app.MapGet("/", () => Results.Bytes(page, "text/html; charset=utf-8"));
        app.MapFallback((HttpContext context) => throw new ApiError(404, $"No route {context.Request.Method} {context.Request.Path}", null, "unknown_url"));
        return app;
    }

    /// <summary>The address a server built on port 0 actually listens on.</summary>
    public static string Address(WebApplication app) =>
        app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();

    private static object ModelEntry(string id) => new { id, @object = "model", created = Created, owned_by = "minillm-pipeline" };

    private static async Task WriteError(HttpContext context, ApiError error, int retryAfterSeconds)
    {
        context.Response.Clear();
        context.Response.StatusCode = error.Status;
        if (error.Status == 429) context.Response.Headers.RetryAfter = retryAfterSeconds.ToString();
        await context.Response.WriteAsJsonAsync(error.Body);
    }

    private static byte[] ChatPage()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("index.html")
            ?? throw new InvalidOperationException("the chat page (index.html) is not embedded in the serve assembly");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }
}
