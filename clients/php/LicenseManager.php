<?php
/**
 * The license API's client for PHP extensions: one file, PHP 8.1+, curl and sodium only.
 *
 *     require_once __DIR__ . '/LicenseManager.php';
 *     $client = new \LicenseManager\Client('https://licenses.example.com', 'crm-exporter', [
 *         'cache_dir' => '/var/www/data/cache/license', 'offline_grace_days' => 7,
 *     ]);
 *     $answer = $client->validate($key, 'https://crm.customer.com');
 *     if (!$answer->valid) { ... show $answer->detail ... }
 *
 * Every answer is checked before it is believed: its Ed25519 X-Signature over the exact body
 * bytes, with the key X-Signature-Key-Id names from GET /v1/keys, and the random nonce it must
 * echo. The last good validation per key and site is kept, so that a server that is down, slow
 * or throttling (timeouts, 429, 5xx) never disables a customer before `offline_grace_days` have
 * passed since that answer was signed. Everything else is a typed exception, never a warning.
 */

declare(strict_types=1);

namespace LicenseManager;

/** A refusal or a failure of a request; `status` and `errorCode` say which when the API said so. */
class RequestError extends \RuntimeException
{
    /** @param list<mixed> $details */
    public function __construct(
        string $message,
        public readonly ?int $status = null,
        public readonly ?string $errorCode = null,
        public readonly array $details = [],
        ?\Throwable $previous = null,
    ) {
        parent::__construct($message, $status ?? 0, $previous);
    }
}

/** The server could not answer now (down, timed out, 429, 5xx) and no cached answer may stand in. */
class UnavailableError extends RequestError
{
}

/** An answer that is not the server's own, or not for this request: never believe it. */
class SignatureError extends \RuntimeException
{
}

/** A validation, activation or deactivation answer. */
final class Answer
{
    /**
     * @param array<string, mixed>|null $license
     * @param array<string, mixed> $body the whole signed answer
     */
    public function __construct(
        public readonly bool $valid,
        public readonly string $code,
        public readonly string $detail,
        public readonly ?array $license,
        public readonly bool $fromCache,
        public readonly string $timestamp,
        public readonly array $body,
    ) {
    }
}

/** An update check's answer; `latest` is null when the product has no release for this host. */
final class Update
{
    /**
     * @param array<string, mixed>|null $latest version, released_at, notes_markdown, sha256, size,
     *                                          download_url, download_expires_at
     */
    public function __construct(
        public readonly string $code,
        public readonly bool $updateAvailable,
        public readonly ?array $latest,
    ) {
    }

    public function version(): ?string
    {
        return isset($this->latest['version']) ? (string) $this->latest['version'] : null;
    }

    public function downloadUrl(): ?string
    {
        return isset($this->latest['download_url']) ? (string) $this->latest['download_url'] : null;
    }
}

final class Client
{
    private const SIGNED_HEADER = 'x-signature';
    private const KID_HEADER = 'x-signature-key-id';
    /** What an offline file's signature covers before its payload: no API answer passes for a file. */
    private const OFFLINE_FILE_CONTEXT = "licensing-offline-file:v1\n";

    private string $baseUrl;
    private float $timeout;
    private string $cacheDir;
    private int $graceDays;
    /** @var array<string, string>|null kid => raw 32-byte public key */
    private ?array $keys = null;

    /** @param array{timeout?: int|float, cache_dir?: string, offline_grace_days?: int} $options */
    public function __construct(string $baseUrl, private string $product, array $options = [])
    {
        if (!extension_loaded('curl') || !extension_loaded('sodium')) {
            throw new \LogicException('LicenseManager needs the curl and sodium PHP extensions.');
        }
        $this->baseUrl = rtrim($baseUrl, '/');
        $this->timeout = (float) ($options['timeout'] ?? 10);
        $this->graceDays = max(0, (int) ($options['offline_grace_days'] ?? 7));
        $this->cacheDir = rtrim((string) ($options['cache_dir']
            ?? sys_get_temp_dir() . '/license-manager-' . substr(hash('sha256', $this->baseUrl), 0, 12)), '/');
    }

    /**
     * Whether the key is valid for this product (and site). Within the grace period a down or
     * throttling server is answered from the last good signed answer (`fromCache` true).
     */
    public function validate(
        string $key,
        ?string $site = null,
        ?string $version = null,
        ?string $hostVersion = null,
    ): Answer {
        $body = ['key' => $key, 'product' => $this->product, 'site' => $site, 'version' => $version,
            'host_version' => $hostVersion];
        $cacheFile = $this->cacheFile('answer', $key, (string) $site);
        try {
            [$answer, $raw, $signature, $kid] = $this->signedPost('/v1/licenses/validate', $body, [200]);
        } catch (UnavailableError $unavailable) {
            return $this->cachedAnswer($cacheFile) ?? throw $unavailable;
        }
        $this->writeCache($cacheFile, ['body' => $raw, 'signature' => $signature, 'kid' => $kid]);
        return $this->answer($answer, 'valid', false);
    }

    /** Activate a site: `valid` is true once it is activated; refusals (limit, expired...) are answers too. */
    public function activate(string $key, string $site): Answer
    {
        [$answer] = $this->signedPost(
            '/v1/licenses/activate',
            ['key' => $key, 'site' => $site, 'product' => $this->product],
            [200, 403, 404, 409, 429],
        );
        return $this->answer($answer, 'activated', false);
    }

    /** Free a site's slot: `valid` is true once it is deactivated, false (NOT_FOUND) for an unknown key or site. */
    public function deactivate(string $key, string $site): Answer
    {
        [$answer] = $this->signedPost('/v1/licenses/deactivate', ['key' => $key, 'site' => $site], [200, 404]);
        return $this->answer($answer, 'deactivated', false);
    }

    /** The newest release for this host, with a 24-hour download link when the license entitles to it. */
    public function checkForUpdate(
        string $key,
        string $currentVersion,
        ?string $site = null,
        ?string $hostVersion = null,
    ): Update {
        [$answer] = $this->signedPost('/v1/updates', ['key' => $key, 'product' => $this->product, 'site' => $site,
            'current_version' => $currentVersion, 'host_version' => $hostVersion], [200]);
        $latest = $answer['latest'] ?? null;
        if (!is_string($answer['code'] ?? null) || !is_bool($answer['update_available'] ?? null)
            || ($latest !== null && !is_array($latest))) {
            throw new RequestError('The update answer is not in the expected shape.');
        }
        return new Update($answer['code'], $answer['update_available'], $latest);
    }

    /**
     * Download an update's file to `$destination`, checked against the signed answer's sha256 and
     * size. Returns the path written.
     */
    public function download(Update $update, string $destination): string
    {
        $url = $update->downloadUrl();
        if ($url === null) {
            throw new RequestError("This license does not entitle to this download ({$update->code}).", null,
                $update->code);
        }
        [$status, $headers, $text] = $this->http('GET', $url, null);
        if ($status !== 303 || !isset($headers['location'])) {
            throw $this->refusal($status, $text, 'The download link was refused.');
        }
        [$status, , $data] = $this->http('GET', $headers['location'], null);
        if ($status !== 200) {
            throw new RequestError("The release file could not be fetched (HTTP $status).", $status);
        }
        $latest = $update->latest ?? [];
        if (strlen($data) !== (int) ($latest['size'] ?? -1)
            || !hash_equals((string) ($latest['sha256'] ?? ''), hash('sha256', $data))) {
            throw new SignatureError('The downloaded file is not the release the signed answer names.');
        }
        $this->writeFile($destination, $data);
        return $destination;
    }

    /**
     * A signed offline license file, for sites that cannot call the API every time; keep its JSON
     * and check it later with readLicenseFile().
     *
     * @return array{kid: string, alg: string, payload: string, signature: string}
     */
    public function licenseFile(string $key, ?string $site = null): array
    {
        [$answer] = $this->signedPost('/v1/licenses/file', ['key' => $key, 'site' => $site], [200]);
        $file = ['kid' => $answer['kid'] ?? null, 'alg' => $answer['alg'] ?? null,
            'payload' => $answer['payload'] ?? null, 'signature' => $answer['signature'] ?? null];
        $this->readLicenseFile($file);
        return $file;
    }

    /**
     * An offline license file's payload (`license`, `issued_at`, `valid_until`) once its signature
     * is verified; SignatureError when forged, RequestError when past its `valid_until` day.
     *
     * @param array<string, mixed>|string $file the file as licenseFile() returned it, or its JSON
     * @return array<string, mixed>
     */
    public function readLicenseFile(array|string $file, ?int $now = null): array
    {
        if (is_string($file)) {
            $file = $this->decode($file);
        }
        foreach (['kid', 'alg', 'payload', 'signature'] as $field) {
            if (!is_string($file[$field] ?? null)) {
                throw new SignatureError("The license file has no $field.");
            }
        }
        if ($file['alg'] !== 'Ed25519') {
            throw new SignatureError('The license file is not signed with Ed25519.');
        }
        $payload = base64_decode($file['payload'], true);
        if ($payload === false) {
            throw new SignatureError('The license file payload is not base64.');
        }
        $this->verify(self::OFFLINE_FILE_CONTEXT . $payload, $file['signature'], $file['kid']);
        $content = $this->decode($payload);
        $until = is_string($content['valid_until'] ?? null) ? $content['valid_until'] : '';
        if (gmdate('Y-m-d', $now ?? time()) > $until) {
            throw new RequestError("The license file held until $until.", null, 'EXPIRED');
        }
        return $content;
    }

    // -- the wire ------------------------------------------------------------------------------

    /**
     * POST a JSON body and return the verified answer, its raw bytes, signature and kid. A 429 or
     * 5xx without a valid signature (API Gateway's own throttle and timeout answers) is
     * UnavailableError; a signed answer with a status outside `$answers` is a RequestError.
     *
     * @param array<string, mixed> $body
     * @param list<int> $answers statuses whose signed body is an answer in the route's shape
     * @return array{0: array<string, mixed>, 1: string, 2: string, 3: string}
     */
    private function signedPost(string $path, array $body, array $answers): array
    {
        $nonce = bin2hex(random_bytes(16));
        $payload = array_filter($body, static fn ($value) => $value !== null) + ['nonce' => $nonce];
        [$status, $headers, $raw] = $this->http('POST', $this->baseUrl . $path, $payload);
        $signature = $headers[self::SIGNED_HEADER] ?? null;
        $kid = $headers[self::KID_HEADER] ?? null;
        if ($signature === null || $kid === null) {
            if ($status === 429 || $status >= 500) {
                throw new UnavailableError("The license server is busy or unavailable (HTTP $status).", $status);
            }
            throw new SignatureError("The answer (HTTP $status) is not signed.");
        }
        $this->verify($raw, $signature, $kid);
        $answer = $this->decode($raw);
        if (isset($answer['error']) || !in_array($status, $answers, true)) {
            // The error shape carries no nonce; it only ever refuses, so a replay cannot grant.
            if ($status === 429 || $status >= 500) {
                throw new UnavailableError($this->errorMessage($answer, $status), $status,
                    $this->errorCode($answer));
            }
            throw $this->refusal($status, $raw, 'The request was refused.');
        }
        if (!is_string($answer['nonce'] ?? null) || !hash_equals($nonce, $answer['nonce'])) {
            throw new SignatureError('The answer does not echo this request\'s nonce: a replayed answer.');
        }
        return [$answer, $raw, $signature, $kid];
    }

    /**
     * @param array<string, mixed>|null $json
     * @return array{0: int, 1: array<string, string>, 2: string} status, lower-cased headers, body
     */
    private function http(string $method, string $url, ?array $json): array
    {
        $scheme = strtolower((string) parse_url($url, PHP_URL_SCHEME));
        if ($scheme !== 'https' && $scheme !== 'http') {
            throw new RequestError("Not an http(s) URL: $url");
        }
        $headers = [];
        $curl = curl_init();
        $options = [
            CURLOPT_URL => $url,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_CONNECTTIMEOUT_MS => (int) min(5000, $this->timeout * 1000),
            CURLOPT_TIMEOUT_MS => (int) ($this->timeout * 1000),
            CURLOPT_USERAGENT => 'LicenseManager-PHP/1.0',
            CURLOPT_HEADERFUNCTION => static function ($handle, string $line) use (&$headers): int {
                $parts = explode(':', $line, 2);
                if (count($parts) === 2) {
                    $headers[strtolower(trim($parts[0]))] = trim($parts[1]);
                }
                return strlen($line);
            },
        ];
        if (defined('CURLOPT_PROTOCOLS_STR')) {
            $options[CURLOPT_PROTOCOLS_STR] = 'http,https';
        } else {
            $options[CURLOPT_PROTOCOLS] = CURLPROTO_HTTP | CURLPROTO_HTTPS;
        }
        if ($json !== null) {
            $options[CURLOPT_CUSTOMREQUEST] = $method;
            $options[CURLOPT_POSTFIELDS] = json_encode($json, JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR);
            $options[CURLOPT_HTTPHEADER] = ['Content-Type: application/json', 'Accept: application/json'];
        }
        curl_setopt_array($curl, $options);
        $body = curl_exec($curl);
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        $error = curl_error($curl);
        curl_close($curl);
        if (!is_string($body)) {
            // Refused connection, DNS failure, timeout: the server cannot be reached now.
            throw new UnavailableError("The license server cannot be reached: $error");
        }
        return [$status, $headers, $body];
    }

    private function verify(string $body, string $signature, string $kid): void
    {
        $raw = base64_decode($signature, true);
        if ($raw === false || strlen($raw) !== SODIUM_CRYPTO_SIGN_BYTES) {
            throw new SignatureError('The signature is not a base64 Ed25519 signature.');
        }
        $key = $this->publicKey($kid);
        try {
            $good = sodium_crypto_sign_verify_detached($raw, $body, $key);
        } catch (\SodiumException $error) {
            throw new SignatureError('The signature cannot be checked: ' . $error->getMessage(), 0, $error);
        }
        if (!$good) {
            throw new SignatureError('The answer\'s signature does not verify: it was altered or forged.');
        }
    }

    /** The raw public key of `kid`: cached; fetched again once when an unknown kid appears (a rotation). */
    private function publicKey(string $kid): string
    {
        $this->keys ??= $this->readKeysCache();
        if (!isset($this->keys[$kid])) {
            $this->keys = $this->fetchKeys();
        }
        return $this->keys[$kid] ?? throw new SignatureError("The answer is signed with an unknown key ($kid).");
    }

    /** @return array<string, string> */
    private function fetchKeys(): array
    {
        [$status, , $raw] = $this->http('GET', $this->baseUrl . '/v1/keys', null);
        if ($status !== 200) {
            throw new UnavailableError("The signing keys cannot be fetched (HTTP $status).", $status);
        }
        $keys = $this->parseKeys($this->decode($raw));
        $this->writeCache($this->cacheFile('keys'), ['keys' => array_map('base64_encode', $keys)]);
        return $keys;
    }

    /** @return array<string, string> */
    private function readKeysCache(): array
    {
        $cached = $this->readCache($this->cacheFile('keys'));
        if (!is_array($cached['keys'] ?? null)) {
            return [];
        }
        $keys = [];
        foreach ($cached['keys'] as $kid => $encoded) {
            $raw = is_string($encoded) ? base64_decode($encoded, true) : false;
            if (is_string($kid) && $raw !== false && strlen($raw) === SODIUM_CRYPTO_SIGN_PUBLICKEYBYTES) {
                $keys[$kid] = $raw;
            }
        }
        return $keys;
    }

    /**
     * @param array<string, mixed> $document
     * @return array<string, string>
     */
    private function parseKeys(array $document): array
    {
        $keys = [];
        foreach (is_array($document['keys'] ?? null) ? $document['keys'] : [] as $entry) {
            if (!is_array($entry) || ($entry['alg'] ?? null) !== 'Ed25519' || !is_string($entry['kid'] ?? null)) {
                continue;
            }
            $raw = is_string($entry['public_key'] ?? null) ? base64_decode($entry['public_key'], true) : false;
            if ($raw !== false && strlen($raw) === SODIUM_CRYPTO_SIGN_PUBLICKEYBYTES) {
                $keys[$entry['kid']] = $raw;
            }
        }
        if ($keys === []) {
            throw new RequestError('GET /v1/keys named no Ed25519 key.');
        }
        return $keys;
    }

    /** @return array<string, mixed> */
    private function decode(string $json): array
    {
        try {
            $value = json_decode($json, true, 64, JSON_THROW_ON_ERROR);
        } catch (\JsonException $error) {
            throw new RequestError('The answer is not valid JSON.', null, null, [], $error);
        }
        if (!is_array($value)) {
            throw new RequestError('The answer is not a JSON object.');
        }
        return $value;
    }

    /** @param array<string, mixed> $answer */
    private function answer(array $answer, string $outcome, bool $fromCache): Answer
    {
        $license = $answer['license'] ?? null;
        if (!is_bool($answer[$outcome] ?? null) || !is_string($answer['code'] ?? null)
            || ($license !== null && !is_array($license))) {
            throw new RequestError('The answer is not in the expected shape.');
        }
        return new Answer($answer[$outcome], $answer['code'], (string) ($answer['detail'] ?? ''), $license,
            $fromCache, (string) ($answer['timestamp'] ?? ''), $answer);
    }

    private function refusal(int $status, string $raw, string $fallback): RequestError
    {
        try {
            $answer = $this->decode($raw);
        } catch (RequestError) {
            $answer = [];
        }
        $details = $answer['error']['details'] ?? [];
        return new RequestError($this->errorMessage($answer, $status, $fallback), $status,
            $this->errorCode($answer), is_array($details) ? array_values($details) : []);
    }

    /** @param array<string, mixed> $answer */
    private function errorMessage(array $answer, int $status, string $fallback = 'The request failed.'): string
    {
        $message = $answer['error']['message'] ?? $answer['detail'] ?? $answer['message'] ?? null;
        return (is_string($message) ? $message : $fallback) . " (HTTP $status)";
    }

    /** @param array<string, mixed> $answer */
    private function errorCode(array $answer): ?string
    {
        $code = $answer['error']['code'] ?? $answer['code'] ?? null;
        return is_string($code) ? $code : null;
    }

    // -- the cache of good answers ------------------------------------------------------------

    /**
     * The last good signed validation, if it was signed within the grace period: verified again
     * (a cache file is only a file), and its own signed timestamp decides its age.
     */
    private function cachedAnswer(string $file): ?Answer
    {
        $cached = $this->readCache($file);
        if (!is_string($cached['body'] ?? null) || !is_string($cached['signature'] ?? null)
            || !is_string($cached['kid'] ?? null)) {
            return null;
        }
        try {
            $this->verify($cached['body'], $cached['signature'], $cached['kid']);
            $answer = $this->decode($cached['body']);
        } catch (SignatureError | RequestError) {
            return null;
        }
        $signedAt = strtotime((string) ($answer['timestamp'] ?? ''));
        if ($signedAt === false || time() - $signedAt > $this->graceDays * 86400) {
            return null;
        }
        return $this->answer($answer, 'valid', true);
    }

    private function cacheFile(string $kind, string ...$parts): string
    {
        $normalised = array_map(static fn (string $part) => strtoupper(str_replace(['-', ' '], '', $part)), $parts);
        $scope = $kind === 'keys' ? [$this->baseUrl] : [$this->baseUrl, $this->product, ...$normalised];
        return $this->cacheDir . '/' . $kind . '-' . substr(hash('sha256', implode("\n", $scope)), 0, 32) . '.json';
    }

    /** @return array<string, mixed> */
    private function readCache(string $file): array
    {
        if (!is_file($file) || !is_readable($file)) {
            return [];
        }
        $text = $this->quietly(static fn () => file_get_contents($file));
        try {
            $value = is_string($text) ? json_decode($text, true, 16, JSON_THROW_ON_ERROR) : null;
        } catch (\JsonException) {
            return [];
        }
        return is_array($value) ? $value : [];
    }

    /** @param array<string, mixed> $value */
    private function writeCache(string $file, array $value): void
    {
        // A cache that cannot be written costs only the offline grace, never the answer.
        try {
            $this->writeFile($file, json_encode($value, JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR));
        } catch (RequestError | \JsonException) {
        }
    }

    private function writeFile(string $path, string $data): void
    {
        $directory = dirname($path);
        $written = $this->quietly(static function () use ($directory, $path, $data): bool {
            if (!is_dir($directory) && !mkdir($directory, 0700, true) && !is_dir($directory)) {
                return false;
            }
            $temporary = $path . '.' . bin2hex(random_bytes(4)) . '.tmp';
            if (file_put_contents($temporary, $data) !== strlen($data)) {
                return false;
            }
            return rename($temporary, $path);
        });
        if ($written !== true) {
            throw new RequestError("Cannot write $path.");
        }
    }

    /** Run a filesystem call with its warnings turned into a false result, never printed. */
    private function quietly(callable $call): mixed
    {
        set_error_handler(static fn (): bool => true);
        try {
            return $call();
        } finally {
            restore_error_handler();
        }
    }
}
