<?php
// The smallest stand-ins for the EspoCRM classes the kit's job uses, with EspoCRM's own names and
// signatures (Espo\Core\Job\JobDataLess, Espo\Core\Utils\Config, Espo\Entities\Extension's status
// constants, EntityManager::getRDBRepositoryByClass()->where()->findOne(), saveEntity()).
declare(strict_types=1);

namespace Espo\Core\Job {
    interface JobDataLess
    {
        public function run(): void;
    }
}

namespace Espo\Core\Utils {
    class Config
    {
        /** @param array<string, mixed> $values */
        public function __construct(private array $values)
        {
        }

        public function get(string $name, mixed $default = null): mixed
        {
            return $this->values[$name] ?? $default;
        }
    }

    class Log
    {
        /** @var list<array{string, string}> */
        public array $records = [];

        public function warning(string $message): void
        {
            $this->records[] = ['warning', $message];
        }

        public function error(string $message): void
        {
            $this->records[] = ['error', $message];
        }
    }
}

namespace Espo\Entities {
    class Extension
    {
        public const ENTITY_TYPE = 'Extension';
        public const LICENSE_STATUS_VALID = 'Valid';
        public const LICENSE_STATUS_INVALID = 'Invalid';
        public const LICENSE_STATUS_EXPIRED = 'Expired';
        public const LICENSE_STATUS_SOFT_EXPIRED = 'Soft-Expired';

        /** @param array<string, mixed> $values */
        public function __construct(public array $values)
        {
        }

        public function get(string $name): mixed
        {
            return $this->values[$name] ?? null;
        }

        /** @param array<string, mixed> $values */
        public function set(array $values): void
        {
            $this->values = $values + $this->values;
        }

        public function getVersion(): string
        {
            return (string) $this->get('version');
        }
    }
}

namespace Espo\ORM {
    use Espo\Entities\Extension;

    class Repository
    {
        /** @var array<string, mixed> */
        private array $where = [];

        /** @param list<Extension> $entities */
        public function __construct(private array $entities)
        {
        }

        /** @param array<string, mixed> $where */
        public function where(array $where): self
        {
            $this->where = $where;
            return $this;
        }

        public function findOne(): ?Extension
        {
            foreach ($this->entities as $entity) {
                if (array_intersect_assoc($this->where, $entity->values) == $this->where) {
                    return $entity;
                }
            }
            return null;
        }
    }

    class EntityManager
    {
        /** @var list<array<string, mixed>> */
        public array $saved = [];

        /** @param list<Extension> $extensions */
        public function __construct(private array $extensions)
        {
        }

        public function getRDBRepositoryByClass(string $className): Repository
        {
            assert($className === Extension::class);
            return new Repository($this->extensions);
        }

        public function saveEntity(object $entity): void
        {
            assert($entity instanceof Extension);
            $this->saved[] = $entity->values;
        }
    }
}
