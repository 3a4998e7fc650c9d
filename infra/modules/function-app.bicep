// The function app on Flex Consumption, with a storage account of its own for the deployment
// package and the Functions host (AzureWebJobsStorage), both reached with the managed identity.

@description('Name of the function app.')
param name string

param location string

@description('Resource id of the user-assigned managed identity.')
param identityId string

@description('Principal id of that identity.')
param principalId string

@description('Name of the deployment and host storage account (3-24 lower-case letters and digits).')
param deploymentStorageName string

@description('App settings, name to value. Secure: it carries the webhook URL and shared secret.')
@secure()
param appSettings object

@description('Most instances the app scales out to.')
param maximumInstanceCount int = 40

@description('Memory of each instance, in MB.')
param instanceMemoryMB int = 2048

@description('Always-ready instances for the HTTP functions; 0 for none.')
param alwaysReadyInstances int = 0

param tags object = {}

// Flex reads the package, and the host keeps its keys and timer leases, in blobs; the host
// also uses queues and tables of AzureWebJobsStorage. These are the three roles Microsoft's Flex
// Consumption samples grant on the host storage.
// Storage Blob Data Owner
var blobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
// Storage Queue Data Contributor
var queueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
// Storage Table Data Contributor
var tableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var deploymentContainerName = 'app-package'

resource deploymentStorage 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: deploymentStorageName
  location: location
  tags: tags
  sku: {
    name: 'Standard_LRS'
  }
  kind: 'StorageV2'
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: deploymentStorage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deploymentStorage.id, principalId, blobDataOwnerRoleId)
  scope: deploymentStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataOwnerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deploymentStorage.id, principalId, queueDataContributorRoleId)
  scope: deploymentStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueDataContributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deploymentStorage.id, principalId, tableDataContributorRoleId)
  scope: deploymentStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${name}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      // Flex sets the runtime in functionAppConfig: FUNCTIONS_WORKER_RUNTIME and
      // FUNCTIONS_EXTENSION_VERSION must not be app settings here.
      appSettings: [for setting in items(appSettings): {
        name: setting.key
        value: setting.value
      }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${deploymentStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: (alwaysReadyInstances > 0) ? [
          {
            name: 'http'
            instanceCount: alwaysReadyInstances
          }
        ] : []
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
  // The host reads its storage with the identity as soon as it starts.
  dependsOn: [
    blobDataOwner
    queueDataContributor
    tableDataContributor
    deploymentContainer
  ]
}

// No FTP or SCM user name and password exists to leak: publishing signs in with Microsoft
// Entra ID (Azure CLI or Core Tools, infra/README.md "Publish the code").
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = site.name
output id string = site.id
output defaultHostName string = site.properties.defaultHostName
