// vi-failover: the controller that moves Video Indexer work to a standby account when Service
// Health or Resource Health says the active one is impacted. See infra/README.md.
//
// Deploy it into a resource group in the SECONDARY region: the controller, its state, its
// telemetry and its identity must keep working when the primary region is the one that failed.
targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------
// Regions
// ---------------------------------------------------------------------------------------------

@description('ARM name of the primary Video Indexer region, e.g. eastus. Used for the accounts this template creates (deployVideoIndexerAccounts).')
param primaryLocation string

@description('ARM name of the secondary (standby) region, e.g. westus. The controller runs here by default, so it must offer Flex Consumption.')
param secondaryLocation string

// Not resourceGroup().location: the controller belongs in the secondary region whatever region
// the resource group was created in, because an outage of the primary region is exactly when it
// has to act.
@description('Region of the controller: function app, state storage, monitoring, identity. Defaults to the secondary region.')
param location string = secondaryLocation

@description('Tags for every resource this template creates.')
param tags object = {}

// ---------------------------------------------------------------------------------------------
// Video Indexer accounts
// ---------------------------------------------------------------------------------------------

@description('Required unless deployVideoIndexerAccounts: the full resource ids (/subscriptions/.../providers/Microsoft.VideoIndexer/accounts/<name>) of at least two existing Video Indexer accounts, in priority order (primary first). They may live in other resource groups and subscriptions. Ignored when deployVideoIndexerAccounts is true.')
param videoIndexerAccountIds array = []

@description('Also create two Video Indexer accounts, in primaryLocation and secondaryLocation, each with its own storage account. For trials; production accounts are usually given by id.')
param deployVideoIndexerAccounts bool = false

@description('Name prefix of the accounts created with deployVideoIndexerAccounts; the region is appended.')
param videoIndexerAccountPrefix string = 'vi-${uniqueString(resourceGroup().id)}'

@description('Required, at least one: Service Health display names of the accounts\' regions, e.g. East US and West US. Global is always added.')
@minLength(1)
param videoIndexerRegionDisplayNames array

// ---------------------------------------------------------------------------------------------
// Alert rules
// ---------------------------------------------------------------------------------------------

@description('At least one: Service Health ServiceName values that mean Video Indexer (exact display names).')
@minLength(1)
param serviceHealthServiceNames array = [
  'Video Indexer'
  'Azure Video Indexer'
  'Azure AI Video Indexer'
]

@description('At least one: Service Health incident types the alert rules send to the controller.')
@minLength(1)
@allowed([
  'Incident'
  'Maintenance'
  'Informational'
  'ActionRequired'
  'Security'
])
param serviceHealthIncidentTypes array = [
  'Incident'
]

@description('Deliver alerts through a secure webhook (Microsoft Entra ID token) instead of the Azure Function receiver.')
param useSecureWebhook bool = false

@description('With useSecureWebhook: object id of the app registration (the application object, not its service principal: App registrations > Overview > Object ID) the action group gets tokens for. Whoever deploys must be an owner of that app registration.')
param secureWebhookObjectId string = ''

@description('With useSecureWebhook: Application ID URI of that app registration; the tokens\' audience.')
param secureWebhookIdentifierUri string = ''

@description('With useSecureWebhook: tenant of that app registration.')
param secureWebhookTenantId string = subscription().tenantId

@description('ALERT_SHARED_SECRET: the secret every alert delivery carries as ?token=; at least 16 characters. Required, and the same on every deployment: generate it once and keep it (e.g. in Key Vault or the pipeline\'s secrets); a new value is a rotation (infra/README.md).')
@secure()
@minLength(16)
param alertSharedSecret string

@description('Deploy what needs the published functions: their keys, the action group and the alert rules. false for the first deployment, before the code is published (the functions do not exist yet); true once it is (infra/README.md, "Deploy").')
param appCodePublished bool = false

@description('Readers\' keys, key name to value (e.g. {"readers": "<32 or more characters>"}): each is set on the read functions active_account, status, history, groups and console, and opens nothing else. Two names during a rotation. Only with appCodePublished.')
@secure()
param readerKeys object = {}

@description('Value of the action group\'s own key (named action-group) on the alerts function: 32 or more letters and digits. Required, and the same on every deployment: generate it once and keep it beside alertSharedSecret; a new value is a rotation (infra/README.md).')
@secure()
@minLength(32)
param actionGroupKey string

@description('Application ID URI (or client id) of the app registration operators sign in to, carrying the Failover.Operator app role (infra/operator-app-roles.json); the tokens\' audience (OPERATOR_AAD_AUDIENCE). Empty: no operator sign-in, manual moves only through break-glass.')
param operatorAudience string = ''

@description('Tenant of that app registration (OPERATOR_AAD_TENANT_ID).')
param operatorTenantId string = subscription().tenantId

// ---------------------------------------------------------------------------------------------
// The app and its settings
// ---------------------------------------------------------------------------------------------

@description('Name of the function app; part of its host name, so globally unique.')
param functionAppName string = 'vi-failover-${uniqueString(resourceGroup().id)}'

@description('Name of the group in FAILOVER_CONFIG.')
param failoverGroupName string = 'default'

@description('FAILOVER_CONFIG policy, as in the README\'s policy table; empty: the app\'s defaults.')
param failoverPolicy object = {}

@description('Name of the state table (FAILOVER_TABLE).')
param stateTableName string = 'FailoverState'

@description('Replication of the state storage account. RA-GZRS needs a region with availability zones; use RA-GRS elsewhere (e.g. West US).')
@allowed([
  'Standard_RAGZRS'
  'Standard_RAGRS'
])
param stateStorageSku string = 'Standard_RAGZRS'

@description('Principal (object) ids of client apps that read the active-account entity straight from the table (Storage Table Data Reader).')
param stateReaderPrincipalIds array = []

@description('NCRONTAB schedule of the readiness timer (READINESS_SCHEDULE).')
param readinessSchedule string = '0 */5 * * * *'

@description('FANOUT_QUEUE: the storage queue from which alerts touching many groups are applied.')
@minLength(3)
@maxLength(56)
param fanoutQueueName string = 'failover-fanout'

@description('FANOUT_INLINE_GROUPS: an alert touching more groups than this is applied from the queue.')
@minValue(0)
param fanoutInlineGroups int = 100

@description('Teams or Slack webhook for moves and blocks (NOTIFY_WEBHOOK_URL); empty: no notifications.')
@secure()
param notifyWebhookUrl string = ''

@description('ACTIVE_ACCOUNT_MAX_AGE: Cache-Control max-age of GET /api/active-account, in seconds.')
@minValue(0)
param activeAccountMaxAge int = 10

@description('STORAGE_TIMEOUT_SECONDS: connect and read timeout of each storage call.')
@minValue(1)
@maxValue(60)
param storageTimeoutSeconds int = 3

@description('RETRY_AFTER_SECONDS: the Retry-After header of a 503.')
@minValue(1)
param retryAfterSeconds int = 10

@description('PROBE_TIMEOUT_SECONDS: connect and read timeout of each readiness probe call.')
@minValue(1)
@maxValue(60)
param probeTimeoutSeconds int = 5

@description('PROBE_SLOW_MS: a VI API answer slower than this makes an account degraded.')
@minValue(1)
param probeSlowMs int = 3000

@description('NOTIFY_TIMEOUT_SECONDS: timeout of each notification attempt.')
@minValue(1)
@maxValue(60)
param notifyTimeoutSeconds int = 2

@description('CLOCK_SKEW_MINUTES: an alert event time further ahead of the controller\'s clock is ordered as received.')
@minValue(1)
@maxValue(1440)
param clockSkewMinutes int = 15

@description('INCIDENT_RETENTION_DAYS: a closed incident is remembered this long after its last update.')
@minValue(30)
@maxValue(366)
param incidentRetentionDays int = 60

@description('ARM_BASE_URL: Azure Resource Manager endpoint; this cloud\'s by default.')
param armBaseUrl string = environment().resourceManager

@description('VI_BASE_URL: Video Indexer API endpoint.')
param viBaseUrl string = 'https://api.videoindexer.ai'

// ---------------------------------------------------------------------------------------------
// Flex Consumption and monitoring
// ---------------------------------------------------------------------------------------------

@description('Flex Consumption: most instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Flex Consumption: memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Flex Consumption: always-ready instances for the HTTP functions; 0 scales to zero (a cold start costs seconds of the action group\'s 10).')
@minValue(0)
param alwaysReadyInstances int = 0

@description('Log Analytics retention, in days.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

// ---------------------------------------------------------------------------------------------
// Derived values
// ---------------------------------------------------------------------------------------------

var suffix = uniqueString(resourceGroup().id, functionAppName)
var primaryAccountName = '${videoIndexerAccountPrefix}-${primaryLocation}'
var secondaryAccountName = '${videoIndexerAccountPrefix}-${secondaryLocation}'
var createdAccountIds = [
  resourceId('Microsoft.VideoIndexer/accounts', primaryAccountName)
  resourceId('Microsoft.VideoIndexer/accounts', secondaryAccountName)
]
// Account ids that are not a Video Indexer account's full resource id.
var malformedAccountIds = filter(videoIndexerAccountIds, id => (length(split(id, '/')) != 9) || ((!startsWith(toLower(id), '/subscriptions/')) || (!contains(toLower(id), '/providers/microsoft.videoindexer/accounts/'))))
var malformedAccountIdsText = string(malformedAccountIds)
// A decorator cannot say "unless deployVideoIndexerAccounts", so these checks are expressions:
// the deployment stops with a message naming the parameter, not with an alert rule that watches
// no account. The app needs two accounts per group.
var accountIds = deployVideoIndexerAccounts ? createdAccountIds : ((length(videoIndexerAccountIds) < 2) ? fail('videoIndexerAccountIds: give the resource ids of at least two Video Indexer accounts, primary first (or set deployVideoIndexerAccounts=true)') : (empty(malformedAccountIds) ? videoIndexerAccountIds : fail('videoIndexerAccountIds: not Video Indexer account resource ids (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.VideoIndexer/accounts/<name>): ${malformedAccountIdsText}')))
var deploymentStorageName = 'stvifdeploy${suffix}'

// The secure webhook needs its app registration; without it the action group could not get a
// token, and every delivery would fail.
var secureWebhook = (useSecureWebhook && (empty(secureWebhookObjectId) || empty(secureWebhookIdentifierUri))) ? fail('secureWebhookObjectId and secureWebhookIdentifierUri: both are required with useSecureWebhook=true (the app registration\'s object id and Application ID URI, infra/README.md)') : useSecureWebhook

// The subscriptions that hold accounts, each once, with the resource group of its first account:
// a role definition must be assignable in each, and each needs its own alert rules.
var accountSubscriptionIds = map(accountIds, id => toLower(split(id, '/')[2]))
var firstAccountOfEachSubscription = filter(range(0, length(accountIds)), i => indexOf(accountSubscriptionIds, accountSubscriptionIds[i]) == i)
var accountSubscriptions = map(firstAccountOfEachSubscription, i => {
  subscriptionId: accountSubscriptionIds[i]
  resourceGroup: split(accountIds[i], '/')[4]
})
var distinctAccountSubscriptionIds = map(accountSubscriptions, home => home.subscriptionId)
// Where each subscription's alert rules go: this resource group in its own subscription, else
// the resource group of that subscription's first account.
var alertRuleHomes = map(accountSubscriptions, home => {
  subscriptionId: home.subscriptionId
  resourceGroup: ((home.subscriptionId) == toLower(subscription().subscriptionId)) ? resourceGroup().name : home.resourceGroup
})
// The same GUID on every deployment of this controller, and a role name no other deployment in
// the tenant uses (role names are unique in a tenant).
var viRoleGuid = guid(resourceGroup().id, functionAppName, 'vi-failover-video-indexer-prober')
var viRoleName = 'Video Indexer failover prober (${functionAppName})'

// accountId and location are left out: the app reads them from ARM on first use (README,
// "FAILOVER_CONFIG"), so this template needs nothing but the resource ids.
var configAccounts = [for id in accountIds: {
  name: last(split(id, '/'))
  resourceId: id
}]
var failoverConfig = string({
  groups: [
    {
      name: failoverGroupName
      accounts: configAccounts
      policy: {}
    }
  ]
  policy: failoverPolicy
})

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

// One user-assigned identity for everything the app reaches: state table, host storage,
// deployment package, Application Insights and the VI accounts. It outlives the app, so role
// assignments survive a re-created function app.
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${functionAppName}'
  location: location
  tags: tags
}

module videoIndexerPrimary 'modules/video-indexer.bicep' = if (deployVideoIndexerAccounts) {
  name: 'vi-failover-vi-primary'
  params: {
    accountName: primaryAccountName
    storageAccountName: 'stvip${suffix}'
    location: primaryLocation
    tags: tags
  }
}

module videoIndexerSecondary 'modules/video-indexer.bicep' = if (deployVideoIndexerAccounts) {
  name: 'vi-failover-vi-secondary'
  params: {
    accountName: secondaryAccountName
    storageAccountName: 'stvis${suffix}'
    location: secondaryLocation
    tags: tags
  }
}

module stateStorage 'modules/state-storage.bicep' = {
  name: 'vi-failover-state'
  params: {
    name: 'stvifstate${suffix}'
    location: location
    sku: stateStorageSku
    tableName: stateTableName
    queueName: fanoutQueueName
    appPrincipalId: identity.properties.principalId
    readerPrincipalIds: stateReaderPrincipalIds
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'vi-failover-monitoring'
  params: {
    name: functionAppName
    location: location
    principalId: identity.properties.principalId
    retentionInDays: logRetentionDays
    tags: tags
  }
}

// The least-privilege role for the accounts (read, generateAccessToken), defined once in the
// first account's subscription and assignable in every subscription that holds an account.
module viRole 'modules/vi-role.bicep' = {
  name: 'vi-failover-role-${suffix}'
  scope: subscription(accountSubscriptions[0].subscriptionId)
  params: {
    roleGuid: viRoleGuid
    roleName: viRoleName
    subscriptionIds: distinctAccountSubscriptionIds
  }
}

// That role on every account, each in its own resource group (and subscription).
module accountAccess 'modules/vi-account-access.bicep' = [for (id, i) in accountIds: {
  name: 'vi-failover-access-${i}-${suffix}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    accountName: last(split(id, '/'))
    principalId: identity.properties.principalId
    roleDefinitionName: viRole.outputs.name
  }
  dependsOn: [
    videoIndexerPrimary
    videoIndexerSecondary
  ]
}]

// Every name here is one the app reads (shared/settings.py SETTING_NAMES) or one the Functions
// platform reads; tests/test_infra.py keeps the two lists from drifting apart.
var appSettings = union({
  FAILOVER_CONFIG: failoverConfig
  FailoverStorage__tableServiceUri: stateStorage.outputs.tablePrimaryEndpoint
  FailoverStorage__queueServiceUri: stateStorage.outputs.queuePrimaryEndpoint
  FailoverStorage__credential: 'managedidentity'
  FailoverStorage__clientId: identity.properties.clientId
  AZURE_CLIENT_ID: identity.properties.clientId
  FAILOVER_TABLE: stateTableName
  READINESS_SCHEDULE: readinessSchedule
  FANOUT_QUEUE: fanoutQueueName
  FANOUT_INLINE_GROUPS: string(fanoutInlineGroups)
  ACTIVE_ACCOUNT_MAX_AGE: string(activeAccountMaxAge)
  STORAGE_TIMEOUT_SECONDS: string(storageTimeoutSeconds)
  RETRY_AFTER_SECONDS: string(retryAfterSeconds)
  PROBE_TIMEOUT_SECONDS: string(probeTimeoutSeconds)
  PROBE_SLOW_MS: string(probeSlowMs)
  NOTIFY_TIMEOUT_SECONDS: string(notifyTimeoutSeconds)
  CLOCK_SKEW_MINUTES: string(clockSkewMinutes)
  INCIDENT_RETENTION_DAYS: string(incidentRetentionDays)
  ARM_BASE_URL: armBaseUrl
  VI_BASE_URL: viBaseUrl
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'
  AzureWebJobsStorage__accountName: deploymentStorageName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.properties.clientId
  // Always set: in Azure the app refuses to start without it or the secure webhook.
  ALERT_SHARED_SECRET: alertSharedSecret
}, empty(notifyWebhookUrl) ? {} : {
  NOTIFY_WEBHOOK_URL: notifyWebhookUrl
}, empty(operatorAudience) ? {} : {
  OPERATOR_AUTH: 'entra'
  OPERATOR_AAD_TENANT_ID: operatorTenantId
  OPERATOR_AAD_AUDIENCE: operatorAudience
}, secureWebhook ? {
  ALERT_AAD_TENANT_ID: secureWebhookTenantId
  ALERT_AAD_AUDIENCE: secureWebhookIdentifierUri
  ALERT_AAD_AUTHORITY: environment().authentication.loginEndpoint
} : {})

module functionApp 'modules/function-app.bicep' = {
  name: 'vi-failover-app'
  params: {
    name: functionAppName
    location: location
    identityId: identity.id
    principalId: identity.properties.principalId
    deploymentStorageName: deploymentStorageName
    appSettings: appSettings
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    alwaysReadyInstances: alwaysReadyInstances
    tags: tags
  }
}

// Only once the code is published: a key is set on a function, and the functions come with the
// code. The action group's key on the alerts function, the readers' keys on the read functions;
// no host key is read or handed out.
module functionKeys 'modules/function-keys.bicep' = if (appCodePublished) {
  name: 'vi-failover-keys'
  params: {
    functionAppName: functionApp.outputs.name
    actionGroupKey: actionGroupKey
    readerKeys: readerKeys
  }
}

// Only once the code is published: before that, no function would answer the deliveries.
module alerts 'modules/alerts.bicep' = if (appCodePublished) {
  name: 'vi-failover-alerts'
  params: {
    name: functionAppName
    functionAppHostName: functionApp.outputs.defaultHostName
    actionGroupKey: actionGroupKey
    alertSharedSecret: alertSharedSecret
    useSecureWebhook: secureWebhook
    secureWebhookObjectId: secureWebhookObjectId
    secureWebhookIdentifierUri: secureWebhookIdentifierUri
    secureWebhookTenantId: secureWebhookTenantId
    tags: tags
  }
  // The key must be on the function before the action group delivers with it.
  dependsOn: [
    functionKeys
  ]
}

// Service Health and Resource Health rules in every subscription that holds an account, all
// pointing at the one action group; only once the code is published, like the action group.
module subscriptionAlerts 'modules/subscription-alerts.bicep' = [for (home, i) in (appCodePublished ? alertRuleHomes : []): {
  name: 'vi-failover-rules-${i}-${suffix}'
  scope: resourceGroup(home.subscriptionId, home.resourceGroup)
  params: {
    name: functionAppName
    actionGroupId: alerts.outputs.actionGroupId
    accountIds: accountIds
    regionDisplayNames: videoIndexerRegionDisplayNames
    serviceNames: serviceHealthServiceNames
    incidentTypes: serviceHealthIncidentTypes
    tags: tags
  }
}]

// ---------------------------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------------------------

output functionAppName string = functionApp.outputs.name
output functionAppUrl string = 'https://${functionApp.outputs.defaultHostName}/api'
output stateTablePrimaryEndpoint string = stateStorage.outputs.tablePrimaryEndpoint
// Read-only, in the state region's pair: apps can still read the flag when that region is down.
output stateTableSecondaryEndpoint string = stateStorage.outputs.tableSecondaryEndpoint
output identityClientId string = identity.properties.clientId
output identityPrincipalId string = identity.properties.principalId
// Empty until a deployment with appCodePublished.
output actionGroupId string = appCodePublished ? alerts.outputs.actionGroupId : ''
