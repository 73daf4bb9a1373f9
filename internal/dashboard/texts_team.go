package dashboard

// teamTexts are the words of the team, audit log, invite, password reset
// and forgotten password pages.
var teamTexts = catalogue{
	"en": {
		"team_h": "Team", "role": "Role", "two_factor": "Two-factor", "change_role": "Change",
		"yes": "On", "no": "Off", "remove_confirm": "Remove {email} from the team? Their sessions and tokens end at once.",
		"invite_h2": "Invite a teammate", "invite": "Send invite", "pending_invites": "Pending invites", "invite_expires": "expires",
		"invite_sent": "Invite sent to {email}.", "role_changed": "Role changed.", "member_removed": "Member removed.",
		"role_owner": "Owner", "role_admin": "Admin", "role_developer": "Developer", "role_support": "Support", "role_viewer": "Viewer",
		"audit_h": "Audit log", "action": "Action", "actor": "Who", "when": "When", "target": "Target", "changes": "Changes",
		"no_audit": "Nothing recorded yet.",
		"invite_h": "Join your team on sakk", "new_password": "Choose a password (at least 10 characters)", "join": "Join",
		"reset_h": "Choose a new password", "save_password": "Save password",
		"forgot_h": "Forgot your password?", "forgot_link": "Forgot your password?", "send_link": "Send a reset link",
		"forgot_sent": "If this email has an account, a reset link is on its way. It works for an hour.",
	},
	"fr": {
		"team_h": "Équipe", "role": "Rôle", "two_factor": "Deux facteurs", "change_role": "Changer",
		"yes": "Activée", "no": "Désactivée", "remove_confirm": "Retirer {email} de l'équipe ? Ses sessions et jetons prennent fin aussitôt.",
		"invite_h2": "Inviter un coéquipier", "invite": "Envoyer l'invitation", "pending_invites": "Invitations en attente", "invite_expires": "expire le",
		"invite_sent": "Invitation envoyée à {email}.", "role_changed": "Rôle modifié.", "member_removed": "Membre retiré.",
		"role_owner": "Propriétaire", "role_admin": "Administrateur", "role_developer": "Développeur", "role_support": "Support", "role_viewer": "Lecteur",
		"audit_h": "Journal d'audit", "action": "Action", "actor": "Qui", "when": "Quand", "target": "Cible", "changes": "Modifications",
		"no_audit": "Rien d'enregistré pour l'instant.",
		"invite_h": "Rejoignez votre équipe sur sakk", "new_password": "Choisissez un mot de passe (10 caractères au moins)", "join": "Rejoindre",
		"reset_h": "Choisissez un nouveau mot de passe", "save_password": "Enregistrer",
		"forgot_h": "Mot de passe oublié ?", "forgot_link": "Mot de passe oublié ?", "send_link": "Envoyer un lien",
		"forgot_sent": "Si cet e-mail a un compte, un lien de réinitialisation arrive. Il est valable une heure.",
	},
	"ar": {
		"team_h": "الفريق", "role": "الدور", "two_factor": "المصادقة الثنائية", "change_role": "تغيير",
		"yes": "مفعّلة", "no": "معطّلة", "remove_confirm": "إزالة {email} من الفريق؟ تنتهي جلساته ورموزه فورًا.",
		"invite_h2": "دعوة زميل", "invite": "إرسال الدعوة", "pending_invites": "دعوات معلّقة", "invite_expires": "تنتهي",
		"invite_sent": "أُرسلت الدعوة إلى {email}.", "role_changed": "تم تغيير الدور.", "member_removed": "تمت إزالة العضو.",
		"role_owner": "مالك", "role_admin": "مشرف", "role_developer": "مطوّر", "role_support": "دعم", "role_viewer": "مشاهد",
		"audit_h": "سجل التدقيق", "action": "الإجراء", "actor": "من", "when": "متى", "target": "الهدف", "changes": "التغييرات",
		"no_audit": "لا شيء مسجّل بعد.",
		"invite_h": "انضم إلى فريقك على sakk", "new_password": "اختر كلمة مرور (10 أحرف على الأقل)", "join": "انضمام",
		"reset_h": "اختر كلمة مرور جديدة", "save_password": "حفظ كلمة المرور",
		"forgot_h": "نسيت كلمة المرور؟", "forgot_link": "نسيت كلمة المرور؟", "send_link": "إرسال رابط",
		"forgot_sent": "إن كان لهذا البريد حساب، فرابط إعادة التعيين في الطريق. يعمل لمدة ساعة.",
	},
}
