package otp

import (
	"context"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sender delivers one message to one shopper. Send returns nil only once
// the message was handed over (the SMTP server accepted it, the SMS
// provider answered 2xx). It must never log the message's text: it holds a
// live code.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Senders are the configured senders, one per channel; nil where the
// installation has none.
type Senders struct {
	Email Sender
	Phone Sender
}

func (s Senders) of(ch Channel) Sender {
	if ch == Email {
		return s.Email
	}
	return s.Phone
}

// Message is one code message, already localised. Emails are plain text
// only: a code needs no markup, text mail is what every client renders
// (right-to-left Arabic included, by the Unicode bidi algorithm), and
// there is one body fewer to keep in step.
type Message struct {
	To      string // normalised email address or E.164 phone number
	Subject string // emails only
	Text    string // lines separated by "\n"
	Locale  string // en, fr or ar: the language the text is in
}

// texts holds every word sakk says to a shopper about a code, one entry
// per locale. {brand}, {code} and {minutes} are filled in by message.
type texts struct {
	subject, email, sms string
}

var locales = map[string]texts{
	"en": {
		subject: "{code} is your {brand} verification code",
		email: "Your {brand} verification code is:\n\n{code}\n\n" +
			"It is valid for {minutes} minutes.\n" +
			"Never share this code with anyone: {brand} will never ask you for it.\n" +
			"If you did not request it, you can ignore this message.\n",
		sms: "{code} is your {brand} verification code. Valid for {minutes} minutes. Never share it.",
	},
	"fr": {
		subject: "{code} est votre code de vérification {brand}",
		email: "Votre code de vérification {brand} est :\n\n{code}\n\n" +
			"Il est valable {minutes} minutes.\n" +
			"Ne communiquez jamais ce code à personne : {brand} ne vous le demandera jamais.\n" +
			"Si vous ne l’avez pas demandé, ignorez ce message.\n",
		sms: "{code} est votre code de vérification {brand}. Valable {minutes} minutes. Ne le communiquez jamais.",
	},
	"ar": {
		subject: "{code} هو رمز التحقق الخاص بك لدى {brand}",
		email: "رمز التحقق الخاص بك لدى {brand} هو:\n\n{code}\n\n" +
			"الرمز صالح لمدة {minutes} دقائق.\n" +
			"لا تشارك هذا الرمز مع أي شخص أبداً: لن يطلبه منك {brand} أبداً.\n" +
			"إذا لم تطلب هذا الرمز، يمكنك تجاهل هذه الرسالة.\n",
		sms: "{code} هو رمز التحقق الخاص بك لدى {brand}. صالح لمدة {minutes} دقائق. لا تشاركه مع أحد.",
	},
}

// defaultBrand names the sender when the application has no brand name.
const defaultBrand = "Sakk"

// maxBrandLen bounds the brand name in a subject or an SMS.
const maxBrandLen = 64

// Locale returns the supported locale for a requested one: "fr-MA" and
// "FR" are "fr"; anything unknown is "en".
func Locale(requested string) string {
	lang, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(requested)), "-")
	lang, _, _ = strings.Cut(lang, "_")
	if _, ok := locales[lang]; ok {
		return lang
	}
	return "en"
}

// message builds the localised message carrying code to identifier.
func message(ch Channel, to, locale, brand, code string) Message {
	locale = Locale(locale)
	t := locales[locale]
	// One pass of a Replacer: a brand that contains "{code}" stays text.
	r := strings.NewReplacer("{brand}", cleanBrand(brand), "{code}", code,
		"{minutes}", strconv.Itoa(int(TTL.Minutes())))
	m := Message{To: to, Locale: locale}
	if ch == Email {
		m.Subject, m.Text = r.Replace(t.subject), r.Replace(t.email)
	} else {
		m.Text = r.Replace(t.sms)
	}
	return m
}

// cleanBrand makes a merchant-chosen name safe for a mail header and an
// SMS: one line of printable characters, at most maxBrandLen of them.
func cleanBrand(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r) || r == utf8.RuneError
	}), " ")
	if utf8.RuneCountInString(s) > maxBrandLen {
		s = strings.TrimSpace(string([]rune(s)[:maxBrandLen]))
	}
	if s == "" {
		return defaultBrand
	}
	return s
}
