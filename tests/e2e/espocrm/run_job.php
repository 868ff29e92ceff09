<?php
// Run the EspoCRM kit's daily job once, in a kit assembled as the README says, with EspoCRM's
// classes stood in by fakes.php. stdin: {"kit", "server", "cache_dir", "config", "extensions"};
// stdout: {"saved": [the Extension records as saved], "log": [...]}.
declare(strict_types=1);

require_once __DIR__ . '/fakes.php';

$request = json_decode((string) stream_get_contents(STDIN), true, 32, JSON_THROW_ON_ERROR);
require_once $request['kit'] . '/files/custom/Espo/Modules/CrmExporter/Jobs/CheckLicense.php';

// What a vendor edits in the job's constants: here, the local system and a test's cache.
eval(sprintf(
    'final class LocalCheckLicense extends \Espo\Modules\CrmExporter\Jobs\CheckLicense {'
    . ' protected const LICENSE_SERVER = %s; protected const CACHE_DIR = %s; }',
    var_export($request['server'], true),
    var_export($request['cache_dir'], true),
));

$extensions = array_map(fn (array $values) => new \Espo\Entities\Extension($values), $request['extensions']);
$entityManager = new \Espo\ORM\EntityManager($extensions);
$log = new \Espo\Core\Utils\Log();
$job = new LocalCheckLicense(new \Espo\Core\Utils\Config($request['config']), $entityManager, $log);
if (!$job instanceof \Espo\Core\Job\JobDataLess) {
    throw new LogicException('The job must be an EspoCRM JobDataLess.');
}
$job->run();
echo json_encode(['saved' => $entityManager->saved, 'log' => $log->records], JSON_THROW_ON_ERROR);
