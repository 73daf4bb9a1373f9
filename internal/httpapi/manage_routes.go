package httpapi

import "github.com/sakkhq/sakk/internal/pay"

// managementPrefix is where the management API lives, beside the merchant
// API's key-scoped routes.
const managementPrefix = "/api/merchant/v1"

// managementRoutes is every management route and who may call it. The
// route walk test checks this table against docs/openapi.yaml (each
// operation's x-sakk-access and x-sakk-permission) and calls every row as
// each role, as another merchant and as an application key.
func (a *api) managementRoutes() []manageRoute {
	return []manageRoute{
		// Signing in and out; the member's own account.
		{"POST", "/auth/login", public, "", a.login},
		{"POST", "/auth/logout", member, "", a.logout},
		{"POST", "/auth/password/forgot", public, "", a.forgotPassword},
		{"POST", "/auth/password/reset", public, "", a.resetPassword},
		{"POST", "/auth/invites/accept", public, "", a.acceptInvite},
		{"POST", "/auth/2fa/setup", member, "", a.setupTwoFactor},
		{"POST", "/auth/2fa/enable", member, "", a.enableTwoFactor},
		{"POST", "/auth/2fa/disable", member, "", a.disableTwoFactor},
		{"GET", "/me", member, "", a.me},
		{"PATCH", "/me", member, "", a.updateMe},
		{"POST", "/me/password", member, "", a.changePassword},
		{"GET", "/me/tokens", member, "", a.listTokens},
		{"POST", "/me/tokens", member, "", a.createToken},
		{"DELETE", "/me/tokens/{tokenId}", member, "", a.revokeToken},

		// The team and the audit log.
		{"GET", "/team/members", member, pay.ReadMoney, a.listMembers},
		{"PATCH", "/team/members/{userId}", member, pay.ManageTeam, a.updateMember},
		{"DELETE", "/team/members/{userId}", member, pay.ManageTeam, a.removeMember},
		{"GET", "/team/invites", member, pay.ManageTeam, a.listInvites},
		{"POST", "/team/invites", member, pay.ManageTeam, a.invite},
		{"GET", "/audit-logs", member, pay.ReadAudit, a.auditLogs},

		// Applications and their keys.
		{"GET", "/apps", member, pay.ReadMoney, a.listApps},
		{"POST", "/apps", member, pay.Configure, a.createApp},
		{"GET", "/apps/{appId}", appMember, pay.ReadMoney, a.getApp},
		{"PATCH", "/apps/{appId}", appMember, pay.Configure, a.updateApp},
		{"DELETE", "/apps/{appId}", appMember, pay.Configure, a.deleteApp},
		{"GET", "/apps/{appId}/keys", appMember, pay.ReadMoney, a.listKeys},
		{"POST", "/apps/{appId}/keys", appMember, pay.Configure, a.issueKeys},
		{"POST", "/apps/{appId}/keys/rotate", appMember, pay.Configure, a.rotateKeys},
		{"POST", "/apps/{appId}/keys/{keyId}/revoke", appMember, pay.Configure, a.revokeKey},

		// What hangs off an application: its domains, catalog and payment
		// links.
		{"GET", "/apps/{appId}/domains", appMember, pay.ReadMoney, a.listDomains},
		{"POST", "/apps/{appId}/domains", appMember, pay.Configure, a.addDomain},
		{"POST", "/apps/{appId}/domains/{domain}/verify", appMember, pay.Configure, a.verifyDomain},
		{"DELETE", "/apps/{appId}/domains/{domain}", appMember, pay.Configure, a.removeDomain},
		{"GET", "/apps/{appId}/products", appMember, pay.ReadMoney, a.listProducts},
		{"POST", "/apps/{appId}/products", appMember, pay.Configure, a.createProduct},
		{"GET", "/apps/{appId}/products/{storeCode}", appMember, pay.ReadMoney, a.getProduct},
		{"PATCH", "/apps/{appId}/products/{storeCode}", appMember, pay.Configure, a.updateProduct},
		{"DELETE", "/apps/{appId}/products/{storeCode}", appMember, pay.Configure, a.deleteProduct},
		{"GET", "/apps/{appId}/payment-links", appMember, pay.ReadMoney, a.listPaymentLinks},
		{"POST", "/apps/{appId}/payment-links", appMember, pay.Configure, a.createPaymentLink},
		{"GET", "/apps/{appId}/payment-links/{linkId}", appMember, pay.ReadMoney, a.getPaymentLink},
		{"PATCH", "/apps/{appId}/payment-links/{linkId}", appMember, pay.Configure, a.updatePaymentLink},

		// Money: the views, refunds and the reports summary.
		{"GET", "/apps/{appId}/payments", appOrKey, pay.ReadMoney, a.listPayments},
		{"GET", "/apps/{appId}/payments/{paymentId}", appOrKey, pay.ReadMoney, a.getPayment},
		{"POST", "/apps/{appId}/payments/{paymentId}/refunds", appOrKey, pay.MoveMoney, a.refund},
		{"GET", "/apps/{appId}/sessions", appOrKey, pay.ReadMoney, a.listSessions},
		{"GET", "/apps/{appId}/sessions/{sessionId}", appOrKey, pay.ReadMoney, a.getSession},
		{"GET", "/apps/{appId}/refunds", appOrKey, pay.ReadMoney, a.listRefunds},
		{"GET", "/apps/{appId}/customers", appOrKey, pay.ReadMoney, a.listCustomers},
		{"GET", "/apps/{appId}/events", appOrKey, pay.ReadMoney, a.listEvents},
		{"GET", "/apps/{appId}/reports/summary", appMember, pay.ReadMoney, a.reportsSummary},

		// Gateway accounts and routing: members only.
		{"GET", "/apps/{appId}/gateways", appMember, pay.ReadMoney, a.listGateways},
		{"PUT", "/apps/{appId}/gateways/{gateway}", appMember, pay.Configure, a.putGateway},
		{"DELETE", "/apps/{appId}/gateways/{gateway}", appMember, pay.Configure, a.deleteGateway},
		{"POST", "/apps/{appId}/gateways/{gateway}/check", appMember, pay.Configure, a.checkGateway},

		// Webhook endpoints and their deliveries; the application's own
		// secret key reaches them too.
		{"GET", "/apps/{appId}/webhook-endpoints", appOrKey, pay.ReadMoney, a.listWebhookEndpoints},
		{"POST", "/apps/{appId}/webhook-endpoints", appOrKey, pay.Configure, a.createWebhookEndpoint},
		{"PATCH", "/apps/{appId}/webhook-endpoints/{id}", appOrKey, pay.Configure, a.updateWebhookEndpoint},
		{"DELETE", "/apps/{appId}/webhook-endpoints/{id}", appOrKey, pay.Configure, a.deleteWebhookEndpoint},
		{"POST", "/apps/{appId}/webhook-endpoints/{id}/test", appOrKey, pay.Configure, a.testWebhookEndpoint},
		{"POST", "/apps/{appId}/webhook-endpoints/{id}/rotate-secret", appOrKey, pay.Configure, a.rotateWebhookEndpointSecret},
		{"GET", "/apps/{appId}/webhook-deliveries", appOrKey, pay.ReadMoney, a.listWebhookDeliveries},
		{"POST", "/apps/{appId}/webhook-deliveries/{deliveryId}/resend", appOrKey, pay.Configure, a.resendAppWebhookDelivery},
	}
}
