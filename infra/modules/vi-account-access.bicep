// The function app's role on one Video Indexer account. Deployed at the account's resource
// group (main.bicep sets the scope from the account's resource id), since the accounts may live
// in other resource groups or subscriptions than the controller.

@description('Name of the Video Indexer account in this resource group.')
param accountName string

@description('Principal id of the function app\'s managed identity.')
param principalId string

@description('Name (GUID) of the custom role from vi-role.bicep: accounts/read and generateAccessToken/action only.')
param roleDefinitionName string

resource account 'Microsoft.VideoIndexer/accounts@2025-04-01' existing = {
  name: accountName
}

// The custom role includes accounts/read, so no Reader assignment is needed beside it.
resource prober 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, roleDefinitionName)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionName)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
