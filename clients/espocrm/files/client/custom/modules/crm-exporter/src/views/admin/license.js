// The license key's settings page (Administration > CRM Exporter > License), built the way
// EspoCRM builds its own settings pages (e.g. views/admin/jobs-settings): a Settings record view
// with its own layout.
define('crm-exporter:views/admin/license', ['views/settings/record/edit'], function (Dep) {
    return Dep.extend({
        layoutName: 'crmExporterLicense',
        saveAndContinueEditingAction: false,
    });
});
