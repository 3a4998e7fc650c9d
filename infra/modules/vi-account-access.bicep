// The function app's roles on one Video Indexer account. Deployed at the account's resource
// group (main.bicep sets the scope from the account's resource id), since the accounts may live
// in other resource groups or subscriptions than the controller.

@description('Name of the Video Indexer account in this resource group.')
param accountName string

@description('Principal id of the function app\'s managed identity.')
param principalId string

// Reader: ARM get_by_id for readiness and for resolving accountId and location.
var readerRoleId = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
// Contributor: generateAccessToken for the data-plane probe needs it.
var contributorRoleId = 'b24988ac-6180-42a0-ab88-20f7382dd24c'

resource account 'Microsoft.VideoIndexer/accounts@2025-04-01' existing = {
  name: accountName
}

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, readerRoleId)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource contributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, contributorRoleId)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', contributorRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
