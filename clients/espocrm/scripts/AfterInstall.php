<?php
/**
 * Schedule the daily license check once, and run it right away so that the administrator sees the
 * status at install. Merge into the extension's own AfterInstall if it has one.
 */

use Espo\Core\Container;
use Espo\Core\InjectableFactory;
use Espo\Modules\CrmExporter\Jobs\CheckLicense;
use Espo\ORM\EntityManager;

class AfterInstall
{
    private const JOB = 'CrmExporterCheckLicense';

    public function run(Container $container): void
    {
        $entityManager = $container->getByClass(EntityManager::class);

        $existing = $entityManager
            ->getRDBRepository('ScheduledJob')
            ->where(['job' => self::JOB])
            ->findOne();

        if (!$existing) {
            $entityManager->createEntity('ScheduledJob', [
                'name' => 'CRM Exporter: check the license',
                'job' => self::JOB,
                'status' => 'Active',
                // Daily, at a minute of its own (UTC), not with every other instance at midnight.
                'scheduling' => random_int(0, 59) . ' ' . random_int(0, 23) . ' * * *',
            ]);
        }

        try {
            $container->getByClass(InjectableFactory::class)->create(CheckLicense::class)->run();
        } catch (\Throwable) {
            // The daily run will record the status; an install never fails on a license check.
        }
    }
}
