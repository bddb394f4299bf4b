#include "labelrun/github/jwt.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "labelrun/core/strings.hpp"
#include "support/temp_dir.hpp"
#include "support/test_keys.hpp"

namespace labelrun::github {
namespace {

using labelrun::testing::AppTestKey;
using std::chrono::system_clock;

nlohmann::json Part(const std::string& jwt, int index) {
  std::vector<std::string_view> parts = Split(jwt, '.');
  EXPECT_EQ(parts.size(), 3u);
  std::optional<std::string> text = Base64UrlDecode(parts.at(index));
  EXPECT_TRUE(text.has_value());
  return nlohmann::json::parse(text.value_or("null"));
}

TEST(GithubJwt, Base64UrlRoundTripsEveryLengthWithoutPadding) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    std::string enc = Base64UrlEncode(bytes);
    EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(Base64UrlDecode(enc), bytes);
    bytes += static_cast<char>(i * 37 + 250);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(Base64UrlDecode("ab+c").has_value());
  EXPECT_FALSE(Base64UrlDecode("a").has_value());
}

TEST(GithubJwt, ClaimsFollowGithubsRules) {
  system_clock::time_point now{std::chrono::seconds(1'700'000'000)};
  JwtClaims c = AppJwtClaims("Iv1.b507a08c87ecfe98", now);
  EXPECT_EQ(c.iat, 1'700'000'000 - 60);
  EXPECT_LE(c.exp, 1'700'000'000 + 600);
  EXPECT_GT(c.exp, 1'700'000'000 + 60);
  EXPECT_EQ(c.iss, "Iv1.b507a08c87ecfe98");
}

TEST(GithubJwt, HeaderIsRs256AndIssuerKeepsItsType) {
  auto key = RsaPrivateKey::FromPem(AppTestKey().pkcs8_pem);
  ASSERT_TRUE(key) << key.error().message();
  system_clock::time_point now{std::chrono::seconds(1'700'000'000)};

  Result<std::string> by_id = MakeAppJwt(*key, AppJwtClaims("12345", now));
  ASSERT_TRUE(by_id);
  EXPECT_EQ(Part(*by_id, 0), nlohmann::json({{"alg", "RS256"}, {"typ", "JWT"}}));
  nlohmann::json claims = Part(*by_id, 1);
  EXPECT_EQ(claims["iss"], 12345);
  EXPECT_EQ(claims["iat"], 1'700'000'000 - 60);
  EXPECT_EQ(claims["exp"], 1'700'000'000 + 540);

  Result<std::string> by_client = MakeAppJwt(*key, AppJwtClaims("Iv1.abc", now));
  ASSERT_TRUE(by_client);
  EXPECT_EQ(Part(*by_client, 1)["iss"], "Iv1.abc");
  // 2048-bit RSA: a 256-byte signature.
  EXPECT_EQ(Base64UrlDecode(Split(*by_client, '.')[2])->size(), 256u);
}

TEST(GithubJwt, LoadsPkcs1AndPkcs8KeysAlike) {
  auto pkcs1 = RsaPrivateKey::FromPem(AppTestKey().pkcs1_pem);
  auto pkcs8 = RsaPrivateKey::FromPem(AppTestKey().pkcs8_pem);
  ASSERT_TRUE(pkcs1);
  ASSERT_TRUE(pkcs8);
  ASSERT_NE(AppTestKey().pkcs1_pem.find("BEGIN RSA PRIVATE KEY"), std::string::npos);
  ASSERT_NE(AppTestKey().pkcs8_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  // PKCS#1 v1.5 signatures are deterministic: the same key signs the same bytes.
  EXPECT_EQ(*pkcs1->SignSha256("x"), *pkcs8->SignSha256("x"));
}

TEST(GithubJwt, BadKeysAreRefusedWithoutEchoingThem) {
  // Cut short: the DER inside no longer parses.
  std::string broken = AppTestKey().pkcs8_pem.substr(0, 300) + "\n-----END PRIVATE KEY-----\n";
  for (const std::string& pem : {std::string("not a key"), broken, AppTestKey().public_pem}) {
    auto key = RsaPrivateKey::FromPem(pem);
    ASSERT_FALSE(key);
    EXPECT_EQ(key.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(key.error().message().find("MII"), std::string::npos);
  }
  labelrun::testing::TempDir dir;
  auto missing = RsaPrivateKey::LoadFile(dir / "none.pem");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("none.pem"), std::string::npos);
  auto bad = RsaPrivateKey::LoadFile(dir.Write("bad.pem", broken));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("bad.pem"), std::string::npos);
  EXPECT_EQ(bad.error().message().find("MII"), std::string::npos);
}

}  // namespace
}  // namespace labelrun::github
