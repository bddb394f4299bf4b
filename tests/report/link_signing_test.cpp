#include "labelrun/report/link_signing.hpp"

#include <gtest/gtest.h>

#include <string>

#include "labelrun/core/strings.hpp"

namespace labelrun::report {
namespace {

constexpr std::string_view kKey = "link-key-0123456789";
constexpr int64_t kNow = 1'767'268'800;

struct Parts {
  std::string path, exp, sig;
};

Parts Split(const std::string& link) {
  const size_t q = link.find('?');
  const std::string query = link.substr(q + 1);
  return {link.substr(0, q), FormValue(query, "exp").value_or(""),
          FormValue(query, "sig").value_or("")};
}

TEST(LinkSigningTest, SignedLinkVerifiesUntilItExpires) {
  const std::string link = SignLink("/jobs/j-1f3a9c", kNow + 3600, kKey);
  EXPECT_EQ(link.rfind("/jobs/j-1f3a9c?exp=1767272400&sig=", 0), 0u) << link;
  const Parts p = Split(link);
  EXPECT_EQ(p.sig.size(), 64u);
  EXPECT_TRUE(VerifyLink(p.path, p.exp, p.sig, kKey, kNow).has_value());
  EXPECT_TRUE(VerifyLink(p.path, p.exp, p.sig, kKey, kNow + 3599).has_value());
  Status expired = VerifyLink(p.path, p.exp, p.sig, kKey, kNow + 3600);
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(expired.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(expired.error().message().find("expired"), std::string::npos);
}

TEST(LinkSigningTest, TamperingIsRefused) {
  const Parts p = Split(SignLink("/jobs/j-1/log", kNow + 60, kKey));
  auto code = [](const Status& s) {
    return s.has_value() ? std::string("ok") : std::string(ErrorCodeName(s.error().code()));
  };
  // Another path, a later expiry, another key, a flipped signature digit.
  EXPECT_EQ(code(VerifyLink("/jobs/j-2/log", p.exp, p.sig, kKey, kNow)), "unauthenticated");
  EXPECT_EQ(code(VerifyLink("/jobs/j-1", p.exp, p.sig, kKey, kNow)), "unauthenticated");
  EXPECT_EQ(code(VerifyLink(p.path, std::to_string(kNow + 999999), p.sig, kKey, kNow)),
            "unauthenticated");
  EXPECT_EQ(code(VerifyLink(p.path, p.exp, p.sig, "other-key", kNow)), "unauthenticated");
  std::string flipped = p.sig;
  flipped[10] = flipped[10] == '0' ? '1' : '0';
  EXPECT_EQ(code(VerifyLink(p.path, p.exp, flipped, kKey, kNow)), "unauthenticated");
  // An upper-case signature is the same bytes.
  std::string upper = p.sig;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(code(VerifyLink(p.path, p.exp, upper, kKey, kNow)), "ok");
  // A tampered link whose expiry also passed says the signature is wrong, not "expired".
  EXPECT_EQ(code(VerifyLink(p.path, "1", p.sig, kKey, kNow)), "unauthenticated");
}

TEST(LinkSigningTest, MalformedValues) {
  const Parts p = Split(SignLink("/jobs/j-1", kNow + 60, kKey));
  auto code = [](const Status& s) {
    return s.has_value() ? std::string("ok") : std::string(ErrorCodeName(s.error().code()));
  };
  for (const char* exp : {"", "abc", "-5", "+5", "12x", "99999999999999999999999"}) {
    EXPECT_EQ(code(VerifyLink(p.path, exp, p.sig, kKey, kNow)), "invalid_argument") << exp;
  }
  for (std::string sig : {std::string(), p.sig.substr(1), p.sig + "0", std::string(64, 'g')}) {
    EXPECT_EQ(code(VerifyLink(p.path, p.exp, sig, kKey, kNow)), "invalid_argument") << sig;
  }
  EXPECT_EQ(code(VerifyLink(p.path, p.exp, p.sig, "", kNow)), "failed_precondition");
}

TEST(LinkSigningTest, OddPathsAreEncodedInTheLinkAndSignedDecoded) {
  const std::string path = "/jobs/j00000000aa/outputs/dir x/say \"hi\" <b>?#%&=ü.txt";
  const std::string link = SignLink(path, kNow + 60, kKey);
  const Parts p = Split(link);
  EXPECT_EQ(p.path,
            "/jobs/j00000000aa/outputs/dir%20x/say%20%22hi%22%20%3Cb%3E%3F%23%25%26%3D%C3%BC.txt");
  EXPECT_EQ(link.find_first_of(" \"<>'#"), std::string::npos) << link;
  EXPECT_EQ(link.find('?'), p.path.size()) << link;  // the only '?' starts the query
  const std::optional<std::string> decoded = PercentDecodePath(p.path);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, path);
  EXPECT_TRUE(VerifyLink(*decoded, p.exp, p.sig, kKey, kNow).has_value());
  // The encoded form is not what was signed.
  EXPECT_FALSE(VerifyLink(p.path, p.exp, p.sig, kKey, kNow).has_value());
  // Plain ids and names are left as they are.
  EXPECT_EQ(Split(SignLink("/jobs/j00000000aa/outputs/model-1_v2.pt", kNow, kKey)).path,
            "/jobs/j00000000aa/outputs/model-1_v2.pt");
}

TEST(LinkSigningTest, BadEscapesInAPathDoNotDecode) {
  for (const std::string bad : {"/a%", "/a%2", "/a%zz", "/a%2g", "/a%00b"}) {
    EXPECT_FALSE(PercentDecodePath(bad).has_value()) << bad;
  }
  EXPECT_EQ(PercentDecodePath("/a+b%2Fc%2fd"), "/a+b/c/d");
}

}  // namespace
}  // namespace labelrun::report
