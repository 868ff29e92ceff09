<?php
// One call of the PHP client, as the tests drive it: a JSON request on stdin
// ({"base_url", "product", "options", "method", "args"}), a JSON result on stdout:
// {"answer": ...} or {"exception": class, "message", "status", "code"}.
declare(strict_types=1);

require_once __DIR__ . '/../../../clients/php/LicenseManager.php';

$request = json_decode((string) stream_get_contents(STDIN), true, 32, JSON_THROW_ON_ERROR);
$client = new \LicenseManager\Client($request['base_url'], $request['product'], $request['options'] ?? []);
$args = $request['args'] ?? [];
try {
    $result = match ($request['method']) {
        'download' => $client->download(
            $client->checkForUpdate(...$args['update']),
            $args['destination'],
        ),
        'readLicenseFile' => $client->readLicenseFile(...$args),
        default => $client->{$request['method']}(...$args),
    };
    echo json_encode(['answer' => is_object($result) ? get_object_vars($result) : $result], JSON_THROW_ON_ERROR);
} catch (\Throwable $error) {
    echo json_encode([
        'exception' => get_class($error),
        'message' => $error->getMessage(),
        'status' => $error instanceof \LicenseManager\RequestError ? $error->status : null,
        'code' => $error instanceof \LicenseManager\RequestError ? $error->errorCode : null,
    ], JSON_THROW_ON_ERROR);
}
