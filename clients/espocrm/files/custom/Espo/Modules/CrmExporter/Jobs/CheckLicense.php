<?php
/**
 * Daily: validate this instance's license key for its site URL and EspoCRM version, and record
 * EspoCRM's own license status and message on the installed extension (Administration >
 * Extensions shows them). Change the constants below when copying the kit.
 */

namespace Espo\Modules\CrmExporter\Jobs;

use Espo\Core\Job\JobDataLess;
use Espo\Core\Utils\Config;
use Espo\Core\Utils\Log;
use Espo\Entities\Extension;
use Espo\ORM\EntityManager;
use LicenseManager\Answer;
use LicenseManager\Client;
use LicenseManager\RequestError;
use LicenseManager\SignatureError;
use LicenseManager\UnavailableError;

require_once __DIR__ . '/../Lib/LicenseManager.php';

class CheckLicense implements JobDataLess
{
    /** The manifest's "name": how EspoCRM names the installed Extension record. */
    protected const EXTENSION_NAME = 'CRM Exporter';
    /** The product's slug on the license server. */
    protected const PRODUCT = 'crm-exporter';
    /** The license server's public base URL (the manifest's checkVersionUrl without /espocrm). */
    protected const LICENSE_SERVER = 'https://licenses.example.com';
    /** The Settings field (entityDefs/Settings.json) that holds the key. */
    protected const KEY_PARAM = 'crmExporterLicenseKey';
    /** How long the last good answer stands in for an unreachable server. */
    protected const OFFLINE_GRACE_DAYS = 7;
    /** Outside data/cache, which "Clear Cache" empties: the offline grace must survive it. */
    protected const CACHE_DIR = 'data/crm-exporter-license';

    public function __construct(
        private Config $config,
        private EntityManager $entityManager,
        private Log $log,
    ) {}

    public function run(): void
    {
        $extension = $this->entityManager
            ->getRDBRepositoryByClass(Extension::class)
            ->where(['name' => static::EXTENSION_NAME, 'isInstalled' => true])
            ->findOne();

        if (!$extension) {
            return;
        }

        [$status, $message] = $this->check($extension->getVersion());

        $extension->set([
            'licenseStatus' => $status,
            'licenseStatusMessage' => $message,
        ]);

        $this->entityManager->saveEntity($extension);
    }

    /**
     * EspoCRM's license status and message for this instance.
     *
     * @return array{0: string, 1: string}
     */
    public function check(string $extensionVersion): array
    {
        $key = trim((string) $this->config->get(static::KEY_PARAM));

        if ($key === '') {
            return [Extension::LICENSE_STATUS_INVALID, 'No license key: enter it under Administration > License.'];
        }

        $client = new Client(static::LICENSE_SERVER, static::PRODUCT, [
            'cache_dir' => static::CACHE_DIR,
            'offline_grace_days' => static::OFFLINE_GRACE_DAYS,
            'timeout' => 20,
        ]);

        try {
            $answer = $client->validate(
                $key,
                (string) $this->config->get('siteUrl'),
                $extensionVersion,
                (string) $this->config->get('version'),
            );
        } catch (UnavailableError $error) {
            // No good answer within the offline grace: the check has failed for too long.
            $this->log->warning('CRM Exporter: the license server cannot be reached: ' . $error->getMessage());

            return [Extension::LICENSE_STATUS_INVALID, 'The license could not be checked: the license server ' .
                'has not been reachable for ' . static::OFFLINE_GRACE_DAYS . ' days.'];
        } catch (SignatureError $error) {
            $this->log->error('CRM Exporter: a license answer failed verification: ' . $error->getMessage());

            return [Extension::LICENSE_STATUS_INVALID, 'The license server\'s answer could not be verified.'];
        } catch (RequestError $error) {
            return [Extension::LICENSE_STATUS_INVALID, $error->getMessage()];
        }

        return [self::status($answer), $answer->detail];
    }

    /** API.md section 7's mapping of a validation answer to EspoCRM's license status. */
    public static function status(Answer $answer): string
    {
        return match (true) {
            $answer->code === 'VALID' => Extension::LICENSE_STATUS_VALID,
            $answer->code === 'GRACE_PERIOD' => Extension::LICENSE_STATUS_SOFT_EXPIRED,
            // The product keeps working after expiry (on_expiry keep_working): updates end, not the software.
            $answer->code === 'EXPIRED' && $answer->valid => Extension::LICENSE_STATUS_SOFT_EXPIRED,
            $answer->code === 'EXPIRED' => Extension::LICENSE_STATUS_EXPIRED,
            default => Extension::LICENSE_STATUS_INVALID,
        };
    }
}
