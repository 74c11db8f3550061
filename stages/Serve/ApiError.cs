namespace MiniLlmPipeline.Stages.Serve;

/// <summary>
/// A request the server refuses, answered in OpenAI's error shape
/// <c>{"error": {"message", "type", "param", "code"}}</c> with <see cref="Status"/>.
/// </summary>
internal sealed class ApiError(int status, string message, string? param = null, string? code = null, string? type = null) : Exception(message)
{
    public int Status => status;
    public string? Param => param;
    public string? Code => code;
    public string Type => type ?? status switch
    {
        401 => "authentication_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    public object Body => new { error = new { message = Message, type = Type, param, code } };

    public static ApiError BadRequest(string message, string? param = null, string? code = "invalid_value") => new(400, message, param, code);
}
